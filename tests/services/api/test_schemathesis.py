"""Schemathesis against the API's own OpenAPI document, in-process over ASGI (no network), with
each role's token (admin, officer, crew, none): no 5xx and every response matches its declared
schema and content type. The app runs on a fresh SQLite database with the test site, one open
ticket, and the session's real InfluxDB behind the trends routes.

Left out: GET /api/v1/events (a server-sent event stream that never ends by design). Not
asserted: that every status code is documented (401/403/404/413/503 are not, see the report).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from domain.breach import Change
from gridwatch.settings import load_settings
from services.api.app import create_app
from services.api.hub import Hub
from tests.harness import InfluxDB
from tests.services.tickets.site import HOUR, T0, low_do, registry

ROLES = ("admin", "officer", "crew", "none")
TOKENS: dict[str, str] = {}
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]


def _seed(hub: Hub) -> None:
    if TOKENS:  # schemathesis may run the lifespan again on the same database
        return
    TOKENS["admin"] = hub.tokens.create("root", "admin")
    TOKENS["officer"] = hub.tokens.create("zhou", "officer")
    TOKENS["crew"] = hub.tokens.create("li-ming", "crew", ("qp-g1",))
    hub.tickets.apply(low_do(Change.RAISED, at=T0 + HOUR))


def _app(db_url: str, influx_url: str | None = None) -> FastAPI:
    return create_app(
        load_settings(db_url=db_url, site="", influx_url=influx_url, influx_db="schemathesis"),
        registry=registry(),
        on_start=_seed,
        tick_interval_s=0,
        live_poll_s=0,
    )


# The document alone (building routes opens nothing); the app it runs against comes from the
# fixture, once the session's InfluxDB is up.
schema = schemathesis.openapi.from_dict(_app("sqlite://").openapi()).exclude(path="/api/v1/events")


@pytest.fixture(scope="module")
def client(influxdb: InfluxDB, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An in-process client of an app on a fresh database (schemathesis runs its lifespan)."""
    db = tmp_path_factory.mktemp("schemathesis") / "gw.db"
    app = _app(f"sqlite:///{db}", influxdb.url)
    schema.app = app
    with asgi.get_client(app) as session:  # type: ignore[arg-type]  # Starlette types its scope wider
        assert session.get("/api/v1/healthz").status_code == 200
        assert set(TOKENS) == {"admin", "officer", "crew"}, "the app seeded its tokens"
        yield session


def headers(role: str) -> dict[str, str]:
    return {} if role == "none" else {"Authorization": f"Bearer {TOKENS[role]}"}


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_role_gets_no_5xx_and_conforming_responses(case: Any, client: Any) -> None:
    for role in ROLES:
        case.call_and_validate(session=client, headers=headers(role), checks=CHECKS)
