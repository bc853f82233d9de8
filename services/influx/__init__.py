"""Reading InfluxDB: an async InfluxQL client (`client`), safe quoting (`quoting`), and the
retention policies and continuous queries the hub keeps (`retention`)."""
