"""Trends officers report on: downsampled series, pond grades and classes, and indicators,
built as InfluxQL from allow-listed ids and shaped into plain results. Pure query builders and
shapers live beside the async functions that run them with a `adapters.influx.query.InfluxQuery`."""
