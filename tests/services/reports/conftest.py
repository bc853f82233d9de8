"""The trends tests' InfluxDB fixtures (own database per test, crafted line protocol)."""

from tests.services.trends.conftest import influx, registry, write

__all__ = ["influx", "registry", "write"]
