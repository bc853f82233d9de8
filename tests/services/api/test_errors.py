"""services/api/errors.py: each service error a route may raise answers with its status and
one stable JSON shape (422: FastAPI's list of {loc, msg, type}; else {"detail": sentence})."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from adapters.influx.errors import InfluxError, InfluxQueryError, InfluxUnavailable
from services.api import errors
from services.auth.links import LinkNotFound, LinkRefused
from services.auth.principal import NotVisible
from services.auth.tokens import TokenError
from services.dryrun.book import DryRunError
from services.dryrun.process import DryRunBusy, DryRunFailed, DryRunTooLong
from services.maintenance.store import MaintenanceError, WindowNotFound, WindowOver
from services.photos.images import NotAPhoto, PhotoTooLarge
from services.photos.store import PhotoNotFound
from services.registry.changes import EntityNotFound, RegistryConflict, RegistryEmpty
from services.registry.logins import LoginError, LoginsUnavailable
from services.residents.reports import ReportError
from services.tickets.errors import PhotosNotOnTicket, TicketConflict, TicketNotFound
from services.trends.errors import RangeError, TrendsError, TrendsUnavailable, UnknownSeries

CASES: list[tuple[Exception, int, object]] = [
    (NotVisible("pond-x"), 404, {"detail": "sensor pond-x does not exist"}),
    (TicketNotFound(7), 404, {"detail": "ticket 7 does not exist"}),
    (TicketConflict("already resolved"), 409, {"detail": "already resolved"}),
    (WindowNotFound(3), 404, {"detail": "no maintenance window 3"}),
    (WindowOver("window 3 is already over"), 409, {"detail": "window 3 is already over"}),
    (
        MaintenanceError("the window must end after it starts"),
        422,
        {
            "detail": [
                {
                    "loc": ["body"],
                    "msg": "the window must end after it starts",
                    "type": "value_error",
                }
            ]
        },
    ),
    (
        UnknownSeries("no sensor 'x' in the registry"),
        404,
        {"detail": "no sensor 'x' in the registry"},
    ),
    (TrendsUnavailable("trends need InfluxDB"), 503, {"detail": "trends need InfluxDB"}),
    (
        RangeError("every must be at least 1s", field="every"),
        422,
        {
            "detail": [
                {
                    "loc": ["query", "every"],
                    "msg": "every must be at least 1s",
                    "type": "value_error",
                }
            ]
        },
    ),
    (
        TrendsError("no such thing"),
        422,
        {"detail": [{"loc": ["query"], "msg": "no such thing", "type": "value_error"}]},
    ),
    (
        DryRunError("no rule 'x.y'"),
        422,
        {"detail": [{"loc": ["body"], "msg": "no rule 'x.y'", "type": "value_error"}]},
    ),
    (EntityNotFound("grid", "qp-g9"), 404, {"detail": "no grid 'qp-g9' in the registry"}),
    (RegistryConflict("sensor 'x' exists already"), 409, {"detail": "sensor 'x' exists already"}),
    (RegistryEmpty("the registry is empty"), 503, {"detail": "the registry is empty"}),
    (LoginsUnavailable("no broker logins"), 503, {"detail": "no broker logins"}),
    (LoginError("the broker refused"), 502, {"detail": "the broker refused"}),
    (InfluxUnavailable("down"), 503, None),
    (DryRunTooLong("took longer than 60 s"), 503, {"detail": "took longer than 60 s"}),
    (DryRunBusy("another rule dry-run is running"), 503, None),
    (DryRunFailed("ended without an answer"), 503, None),
    (InfluxQueryError("bad statement", status=400), 502, None),
    (InfluxError("odd"), 502, None),
    (
        ReportError("what must be one of smell, other"),
        422,
        {
            "detail": [
                {
                    "loc": ["body", "what"],
                    "msg": "what must be one of smell, other",
                    "type": "value_error",
                }
            ]
        },
    ),
    (LinkRefused("this sign-in link was used already"), 401, None),
    (LinkNotFound(4), 404, {"detail": "sign-in link 4 does not exist"}),
    (TokenError("no token named 'x'"), 404, {"detail": "no token named 'x'"}),
    (PhotoNotFound(5), 404, {"detail": "photo 5 does not exist"}),
    (NotAPhoto("not a JPEG, PNG or WebP image"), 415, None),
    (PhotoTooLarge("a photo may be at most 10 MB"), 413, None),
    (
        PhotosNotOnTicket("not photos of ticket 1: 9"),
        422,
        {
            "detail": [
                {
                    "loc": ["body", "photos"],
                    "msg": "not photos of ticket 1: 9",
                    "type": "value_error",
                }
            ]
        },
    ),
]


@pytest.fixture
async def client() -> httpx.AsyncClient:
    """An app whose one route raises the error it is told to (by index into CASES)."""
    app = FastAPI()
    errors.install(app)

    @app.get("/raise/{i}")
    async def _raise(i: int) -> None:
        raise CASES[i][0]

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


@pytest.mark.parametrize(
    ("i", "code"), [(i, code) for i, (_, code, _) in enumerate(CASES)], ids=lambda v: str(v)
)
async def test_each_error_has_its_status_and_shape(
    client: httpx.AsyncClient, i: int, code: int
) -> None:
    async with client:
        r = await client.get(f"/raise/{i}")
    assert r.status_code == code
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    expected = CASES[i][2]
    if expected is not None:
        assert body == expected
    else:  # InfluxDB's wording is its adapter's business; the shape is ours
        assert set(body) == {"detail"}
        assert isinstance(body["detail"], str)


def test_every_mapped_error_is_tested() -> None:
    assert set(errors.ANSWERS) <= {type(e) for e, _, _ in CASES} | {TrendsError, InfluxError}


def test_routes_build_no_http_exceptions_for_domain_cases() -> None:
    """Only the auth dependencies (401/403) speak HTTP; every route raises service errors."""
    routes = Path(errors.__file__).parent / "routes"
    offenders = [p.name for p in routes.glob("*.py") if "HTTPException" in p.read_text()]
    assert offenders == []
