"""A Mosquitto 2.0 configuration generated from the site registry (issue 5, reliability.md):
`gridwatch broker-config` and `gridwatch up` write it through `broker.writer`.

The broker is part of the product: it is the first line that keeps a device from writing as
another, holds the gateway's queue while the gateway is away, and survives its own restart.
Everything is derived from the `Site`, so adding a sensor to the registry and re-running gives
it credentials and exactly its own two topics.

Pure functions build the texts (`texts`: config and ACL; `passwords`: the password file;
`accounts`: who logs in and the credentials document) from a Site and `BrokerOptions`
(`model`); `writer.write_broker_config` is the one function that touches disk, so
`gridwatch up` and the tests reuse it with their own folder and port.

Password hashes are PBKDF2-SHA512 in the `$7$iterations$salt$hash` form `mosquitto_passwd` 2.0
writes (12-byte salt, 101 iterations), so the generator does not need Mosquitto's tools.
"""
