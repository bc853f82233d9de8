"""The trends tests' InfluxDB fixtures (own database per test, crafted line protocol) and the
crafted pond series of test_dry_run."""

from tests.services.dryrun.test_dry_run import pond_data
from tests.services.trends.conftest import influx, registry, write

__all__ = ["influx", "pond_data", "registry", "write"]
