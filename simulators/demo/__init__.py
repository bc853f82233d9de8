"""The demo community's site file and scenarios, shipped as package data."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
SITE = HERE / "site.yaml"
SCENARIOS = HERE / "scenarios"


def scenario_path(name: str) -> Path:
    """The shipped scenario called `name` (storm-night, black-odorous-pond, ...)."""
    return SCENARIOS / f"{name}.yaml"


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
