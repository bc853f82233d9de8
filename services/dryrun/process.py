"""A rule dry-run for the API, in a child process with a time limit.

A dry-run replays up to millions of readings through the rule engine: pure Python, CPU-bound.
Run on the API's event loop it froze every request for ~20 s; in a thread it still took the
interpreter lock from the loop often enough to stall requests by seconds on a busy host. A
child process (forked from a clean fork server, so it inherits no threads or open
connections of the API) opens its own InfluxDB client, runs `services.dryrun.runner.dry_run`
and sends the result back; the API only waits.
Past the time limit the child is killed (`DryRunTooLong`, answered 503), and a process runs
one dry-run at a time (`DryRunBusy`, 503), so officers cannot stack them up.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from adapters.influx.query import InfluxTarget
from domain.site import Registry
from services.dryrun.runner import DryRun, DryRunResult, dry_run, prepare

TIME_LIMIT_S = 60.0
"""Longest a dry-run may take, start of its process included; the 2 million readings a
dry-run may replay (runner.MAX_POINTS) take about 20 s on an idle core."""


class DryRunTooLong(Exception):
    """The dry-run went past its time limit and was stopped; nothing was written anywhere."""


class DryRunBusy(Exception):
    """Another dry-run is running in this process; try again when it has finished."""


class DryRunFailed(Exception):
    """The dry-run's process died without an answer (killed, out of memory)."""


_ONE_AT_A_TIME = threading.Lock()
"""Held for the length of a dry-run (a thread lock: it is only ever tried, never waited on)."""


def _child(
    out: Connection,
    target: InfluxTarget,
    registry: Registry,
    req: DryRun,
    overrides: str | Path | None,
    raw_rp: str,
) -> None:
    async def run() -> DryRunResult:
        async with target.open() as influx:
            return await dry_run(influx, registry, req, overrides=overrides, raw_rp=raw_rp)

    answer: tuple[str, Any]
    try:
        answer = ("ok", asyncio.run(run()))
    except Exception as e:  # the parent raises it again (DryRunError, InfluxError, ...)
        answer = ("error", e)
    try:
        out.send(answer)
    except Exception as e:  # an exception that does not pickle: keep its sentence
        out.send(("error", DryRunFailed(f"{type(e).__name__}: {e}")))
    out.close()


def _context() -> multiprocessing.context.ForkServerContext:
    """A fork server: started clean once (no threads, no open connections of the API),
    with this module imported; each dry-run forks from it in milliseconds, where a fresh
    spawn would import everything again (seconds on a busy host)."""
    ctx = multiprocessing.get_context("forkserver")
    assert isinstance(ctx, multiprocessing.context.ForkServerContext)  # noqa: S101 - Linux
    ctx.set_forkserver_preload([__name__])
    return ctx


def _receive(conn: Connection) -> tuple[str, Any]:
    try:
        kind, value = conn.recv()
    except (EOFError, OSError):
        return "error", DryRunFailed("the dry-run's process ended without an answer")
    return str(kind), value


async def dry_run_isolated(
    target: InfluxTarget,
    registry: Registry,
    req: DryRun,
    *,
    overrides: str | Path | None = None,
    raw_rp: str = "autogen",
    time_limit_s: float = TIME_LIMIT_S,
) -> DryRunResult:
    """`dry_run` in a child process, killed after `time_limit_s`. Raises what the dry-run
    raised (DryRunError, InfluxError), DryRunTooLong, DryRunBusy or DryRunFailed."""
    # a request that cannot run is refused here, at once (reading the rules is file I/O)
    await asyncio.to_thread(prepare, registry, req, overrides)
    if not _ONE_AT_A_TIME.acquire(blocking=False):
        raise DryRunBusy("another rule dry-run is running; try again when it has finished")
    try:
        ctx = _context()
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_child,
            args=(sender, target, registry, req, overrides, raw_rp),
            name="gridwatch-dry-run",
            daemon=True,
        )
        answer: asyncio.Future[tuple[str, Any]] | None = None
        try:
            async with asyncio.timeout(time_limit_s):
                await asyncio.to_thread(proc.start)
                sender.close()
                answer = asyncio.ensure_future(asyncio.to_thread(_receive, receiver))
                kind, value = await asyncio.shield(answer)
        except TimeoutError:
            raise DryRunTooLong(
                f"the dry-run took longer than {time_limit_s:g} s and was stopped: "
                "narrow the range or the scope"
            ) from None
        finally:
            if proc.is_alive():
                proc.kill()
            if answer is not None:
                await answer  # the kill ends a receive still waiting (EOF)
            if proc.pid is not None:
                await asyncio.to_thread(proc.join, 10)
            receiver.close()
    finally:
        _ONE_AT_A_TIME.release()
    if kind == "error":
        raise value
    assert isinstance(value, DryRunResult)  # noqa: S101 - the child sends nothing else
    return value
