"""The live stream's door on a real uvicorn server with its access log on: a token is traded
for a single-use pass, never sent in a URL, never written to the log; a revoked token's open
stream ends within seconds."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gridwatch.settings import load_settings
from services.api.app import create_app
from services.api.hub import Hub
from services.api.streampass import RECHECK_S, StreamPasses
from services.auth.principal import Principal, Role
from tests.services.api.server import serve
from tests.services.tickets.site import registry


@dataclass
class Live:
    url: str
    hub: Hub
    officer: str

    def new_pass(self, token: str | None = None) -> str:
        r = httpx.post(
            f"{self.url}/api/v1/events/passes",
            headers={"Authorization": f"Bearer {token or self.officer}"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["expires_in_s"] == 30
        return str(r.json()["pass"])


@pytest.fixture
def live(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Live]:
    """The API with uvicorn's access log on, into caplog."""
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    hubs: list[Hub] = []
    settings = load_settings(db_url=f"sqlite:///{tmp_path / 'gw.db'}", site="")
    app = create_app(
        settings, registry=registry(), on_start=hubs.append, tick_interval_s=0, live_poll_s=0.2
    )
    with serve(app, log_config=None, log_level="info", access_log=True) as url:
        yield Live(url, hubs[0], hubs[0].tokens.create("zhou", "officer"))


def _first_line(live: Live, **params: str) -> tuple[int, str]:
    with httpx.stream("GET", f"{live.url}/api/v1/events", params=params, timeout=10) as r:
        first = next(r.iter_lines()) if r.status_code == 200 else ""
        return r.status_code, first


def test_a_pass_opens_one_stream_and_no_secret_reaches_the_access_log(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    first = live.new_pass()
    assert _first_line(live, **{"pass": first}) == (200, "retry: 5000")
    assert _first_line(live, **{"pass": first})[0] == 401  # used up
    assert _first_line(live, **{"pass": "sp_made-up"})[0] == 401
    assert _first_line(live, token=live.officer)[0] == 401  # a token in the URL: never taken
    assert _first_line(live)[0] == 401
    second = live.new_pass()
    assert _first_line(live, **{"pass": second})[0] == 200

    log = "\n".join(r.getMessage() for r in caplog.records if r.name == "uvicorn.access")
    assert "/api/v1/events/passes" in log
    assert log.count("GET /api/v1/events") == 6  # every stream request was logged ...
    for secret in (live.officer, first, second, "sp_made-up"):
        assert secret not in log  # ... without its secret


def test_an_open_stream_ends_soon_after_its_token_is_revoked(live: Live) -> None:
    crew = live.hub.tokens.create("li-ming", "crew", ("qp-g1",))
    with httpx.stream(
        "GET", f"{live.url}/api/v1/events", params={"pass": live.new_pass(crew)}, timeout=10
    ) as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        assert next(lines) == "retry: 5000"
        time.sleep(0.5)
        live.hub.tokens.revoke("li-ming")
        revoked_at = time.monotonic()
        rest = list(lines)  # the server ends the stream
        took = time.monotonic() - revoked_at
    assert "event: revoked" in rest
    assert took < RECHECK_S + 3
    r = httpx.post(f"{live.url}/api/v1/events/passes", headers={"Authorization": f"Bearer {crew}"})
    assert r.status_code == 401


def test_a_bearer_header_still_opens_the_stream_for_other_clients(live: Live) -> None:
    with httpx.stream(
        "GET",
        f"{live.url}/api/v1/events",
        headers={"Authorization": f"Bearer {live.officer}"},
        timeout=10,
    ) as r:
        assert r.status_code == 200
        assert next(r.iter_lines()) == "retry: 5000"


def test_passes_expire_and_are_bounded() -> None:
    now = [0.0]
    passes = StreamPasses(ttl_s=30, max_outstanding=3, clock=lambda: now[0])
    who = Principal("zhou", Role.OFFICER)
    late = passes.issue(who, "d")
    now[0] = 31
    assert passes.redeem(late) is None
    kept = [passes.issue(who, "d") for _ in range(4)]
    assert passes.redeem(kept[0]) is None  # the oldest unused pass was forgotten
    grant = passes.redeem(kept[3])
    assert grant is not None
    assert (grant.principal, grant.token_digest) == (who, "d")
    assert passes.redeem(kept[3]) is None
