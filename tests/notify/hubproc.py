"""One hub process's notifier, for the two-process test: runs the channel workers and the
escalation clock on `--db` for `--seconds`, then prints what it sent as JSON.

    python -m tests.notify.hubproc --db URL --site FILE --steps N [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain.site import Registry, load_site
from services.db.engine import make_engine
from services.db.models import EscalationRow, OutboxRow
from services.notify.directory import SiteDirectory
from services.notify.notifier import Notifier
from services.notify.outbox import Outbox, OutboxConfig
from services.notify.senders import Senders


def _done(engine: Engine, steps: int) -> bool:
    with Session(engine) as s:
        pending = s.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending")
        )
        taken = s.scalar(select(func.count()).select_from(EscalationRow))
    return pending == 0 and (taken or 0) >= steps


async def main(db: str, site: Path, seconds: float, steps: int) -> None:
    registry = Registry(load_site(site))
    directory = SiteDirectory(registry)
    engine = make_engine(db)
    outbox = Outbox(directory, registry, OutboxConfig(group_window_s=0.2, retry_base_s=0.1))
    async with Notifier(
        engine, outbox, directory, Senders(None, "gw@example.org"), poll_s=0.01, refresh_s=0.05
    ) as n:
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:  # until all is sent and every step taken, or the time
            await asyncio.sleep(0.2)
            if await asyncio.to_thread(_done, engine, steps):
                await asyncio.sleep(0.3)
                break
    engine.dispose()
    print(json.dumps({"messages": dict(n.messages), "escalations": 0}), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--site", type=Path, required=True)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--steps", type=int, default=0, help="stop once this many steps are taken")
    a = p.parse_args()
    asyncio.run(main(a.db, a.site, a.seconds, a.steps))
