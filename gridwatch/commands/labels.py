"""`gridwatch labels [--grid ID] [--residents] --out FILE.pdf`: A4 sheets of QR labels for the
site's sensors (gridwatch.labels), to stick on each asset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridwatch import flags
from gridwatch.labels import LabelError, render


def command(
    out: Annotated[Path, typer.Option("--out", help="The PDF to write.")],
    grid: Annotated[
        list[str] | None, typer.Option("--grid", help="Only this grid cell's sensors (repeat).")
    ] = None,
    residents: Annotated[
        bool,
        typer.Option("--residents", help="A second code per label: the residents' form."),
    ] = False,
    site: flags.Site = None,
    env_file: flags.EnvFile = None,
) -> None:
    """Print one label per sensor: asset, sensor id, grid, QR code of {PUBLIC_URL}/s/<id>."""
    settings = flags.settings(env_file, site=site).settings
    registry = flags.site_registry(settings)
    wanted = set(grid or ())
    unknown = wanted - set(registry.grids)
    if unknown:
        typer.echo(f"error: no grid {', '.join(sorted(unknown))} in the site", err=True)
        raise typer.Exit(2)
    chosen = [
        p
        for p in sorted(registry.placements.values(), key=lambda p: (p.grid.id, p.sensor.id))
        if not wanted or p.grid.id in wanted
    ]
    try:
        pdf = render(chosen, settings.notify.public_url, residents=residents)
    except LabelError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    out.write_bytes(pdf)
    sheets = -(-len(chosen) // 8)
    typer.echo(f"{len(chosen)} labels on {sheets} A4 sheet(s): {out}")
