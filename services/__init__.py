"""What the hub does with stored facts: rules, tickets, notifications, the REST API and the
stores behind them. Knows nothing of MQTT ingest."""
