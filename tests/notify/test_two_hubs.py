"""Two hub processes on one PostgreSQL share the outbox and the escalation chains: every notice
goes once, every step is taken once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.breach import Change
from services.db.engine import open_database
from services.db.models import EscalationRow, OutboxRow, TicketEvent
from services.notify.directory import SiteDirectory
from services.notify.outbox import Outbox, OutboxConfig
from services.tickets.service import TicketService
from tests.notify.support import site
from tests.robots.server import WebhookReceiver, WeComRobot
from tests.services.tickets.site import T0, low_do

REPO = Path(__file__).resolve().parents[2]
TICKETS = 20


@pytest.mark.slow  # two Python processes and a PostgreSQL server: about 20 s on a loaded box
def test_two_processes_send_each_notice_and_step_once(
    pg_url: str, tmp_path: Path, wecom: WeComRobot
) -> None:
    hook = WebhookReceiver(secret="hook-secret", token="t1").start()
    try:
        channels = [
            {"id": "two-hook", "type": "webhook", "url": hook.url, "secret": "hook-secret",
             "grids": ["qp-g1"]},
            {"id": "two-wecom", "type": "wecom", "url": wecom.url, "grids": ["qp-g1"],
             "rate_per_min": 1000},
        ]  # fmt: skip
        chain = [{"after": "2s", "notify": "supervisor"}]
        reg = site(channels, escalation=chain, sensors=TICKETS)
        site_file = tmp_path / "site.yaml"
        site_file.write_text(yaml.safe_dump(reg.site.model_dump(mode="json"), allow_unicode=True))
        engine = open_database(pg_url)
        directory = SiteDirectory(reg)
        outbox = Outbox(directory, reg, OutboxConfig(group_window_s=0.2))
        tickets = TicketService(engine, reg, outbox=outbox.enqueue)
        for i in range(TICKETS):
            tickets.apply(low_do(Change.RAISED, T0, sensor=f"pond-qp-b{i:02d}"))
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.notify.hubproc",
                    "--db",
                    pg_url,
                    "--site",
                    str(site_file),
                    "--steps",
                    str(TICKETS),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=REPO,
            )
            for _ in range(2)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (_out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err[-3000:]
        per_process = [json.loads(out.strip().splitlines()[-1])["messages"] for out, _ in outs]
        with Session(engine) as s:
            rows = list(s.scalars(select(OutboxRow)))
            steps = s.scalar(select(func.count()).select_from(EscalationRow))
            sent_lines = Counter(
                (t, note.split(" ")[0] + " " + note.split(" ")[2].rstrip(":"))
                for t, note in s.execute(
                    select(TicketEvent.ticket_id, TicketEvent.note).where(
                        TicketEvent.kind == "notified"
                    )
                )
            )
        engine.dispose()
    finally:
        hook.stop()
    # each ticket: opened + one escalation step, on both channels
    assert steps == TICKETS
    assert len(rows) == 4 * TICKETS
    assert [
        (r.channel, r.status, r.attempts) for r in rows if (r.status, r.attempts) != ("sent", 1)
    ] == []
    hooked = Counter((r.body["event"], r.body["ticket"]["id"]) for r in hook.received)
    assert len(hooked) == 2 * TICKETS
    assert set(hooked.values()) == {1}  # every notice once
    assert hook.answers.count({"ok": 0}) == 2 * TICKETS
    assert set(sent_lines.values()) == {1}
    both = [m for m in per_process if m]
    print(f"\nmessages per process: {per_process}")
    assert sum(m.get("two-hook", 0) for m in per_process) == 2 * TICKETS
    assert len(both) == 2  # both processes did work
