"""Ingest: MQTT messages in, validated measurements out to InfluxDB and to whatever sinks the
composition root hands in (rules, rejection store). Knows nothing of tickets or the API."""
