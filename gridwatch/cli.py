"""`gridwatch`: one entry point, a sub-command per process or task (contract §6).

Each sub-command lives in `gridwatch/commands/<name>.py` and builds its own settings there, once,
at start; nothing is configured at import time.
"""

from __future__ import annotations

import typer

from gridwatch.commands import broker_config, gateway, report, rules, serve, simulate, token, up

app = typer.Typer(
    name="gridwatch",
    help="GridWatch: sensor hub for community water, power, sewer and pond infrastructure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("gateway")(gateway.command)
app.command("api")(serve.command)
app.command("up")(up.command)
app.command("simulate")(simulate.command)
app.command("broker-config")(broker_config.command)
app.add_typer(token.app, name="token")
app.command("report")(report.command)
app.add_typer(rules.app, name="rules")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
