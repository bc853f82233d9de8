"""The API fixture of tests/services/api (a running app on SQLite with one token per role and
tickets on pond-qp-01 and water-qp-01), for the registry's admin API."""

from tests.services.api.conftest import api  # noqa: F401
