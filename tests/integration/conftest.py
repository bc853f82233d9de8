"""Fixtures the integration tests share beyond the top-level conftest's services."""

from tests.integration.deployhost import host  # noqa: F401 - a fixture, registered by import
from tests.integration.mqttpeers import peers  # noqa: F401 - a fixture, registered by import
