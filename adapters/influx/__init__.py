"""InfluxDB, both directions (contract §3): `lineprotocol` encodes Measurements and `writer`
posts them; `query` runs InfluxQL with `quoting` for request text; `retention` keeps the
policies and rollups; `errors` is the one error tree and `http` the one client construction."""
