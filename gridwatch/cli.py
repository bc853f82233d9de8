"""`gridwatch`: one entry point, a sub-command per process or task (contract §6).

Each sub-command lives in `gridwatch/commands/<name>.py` and builds its own settings there, once,
at start; nothing is configured at import time.

A command's module is imported when that command runs (or when help lists them all), not with
this module: `gridwatch gateway` used to import every command's dependencies — FastAPI, fpdf,
Pillow, the broker tooling — about 2.5 s of a loaded two-core box before its first reading,
and each gateway worker process imports this module again (multiprocessing's spawn re-imports
the parent's main module).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import typer
from typer import _click as click  # the Click that typer runs on (its own copy)
from typer.core import TyperGroup

COMMANDS: dict[str, tuple[str, str]] = {
    "gateway": ("gridwatch.commands.gateway", "command"),
    "api": ("gridwatch.commands.serve", "command"),
    "up": ("gridwatch.commands.up", "command"),
    "simulate": ("gridwatch.commands.simulate", "command"),
    "broker-config": ("gridwatch.commands.broker_config", "command"),
    "report": ("gridwatch.commands.report", "command"),
    "labels": ("gridwatch.commands.labels", "command"),
    "token": ("gridwatch.commands.token", "app"),
    "rules": ("gridwatch.commands.rules", "app"),
    "config": ("gridwatch.commands.config", "app"),
    "notify": ("gridwatch.commands.notify", "app"),
    "site": ("gridwatch.commands.site", "app"),
}
"""Command name → (module, attribute): a command function, or a typer app of sub-commands."""


def load_command(name: str) -> click.Command:
    """The Click command `name` is, importing its module now."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: click.Command = typer.main.get_group(target)
    else:
        one = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        one.command(name)(target)
        command = typer.main.get_command(one)
    command.name = name
    return command


class _Commands(MutableMapping[str, click.Command]):
    """Every command's name, each loaded on first use (`gridwatch --help` loads them all)."""

    def __init__(self, given: Mapping[str, click.Command]) -> None:
        self._loaded = dict(given)

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self._loaded[name] = load_command(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(COMMANDS), **self._loaded})

    def __len__(self) -> int:
        return len({**dict.fromkeys(COMMANDS), **self._loaded})


class LazyGroup(TyperGroup):
    """The top-level group: commands from `COMMANDS`, imported when looked up."""

    def __init__(self, *, commands: Any = None, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(commands or {})


app = typer.Typer(
    name="gridwatch",
    cls=LazyGroup,
    help="GridWatch: sensor hub for community water, power, sewer and pond infrastructure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """GridWatch: sensor hub for community water, power, sewer and pond infrastructure."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
