"""The shared options: one declaration, the same behaviour in every command — the flag wins,
else the documented variable, else the default; a bad value is refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gridwatch.cli import app
from tests.integration.test_broker_config import sensors
from tests.sites import qingping


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(
        yaml.safe_dump(qingping(sensors(2, interval_s=60))),
        encoding="utf-8",
    )
    return path


def test_broker_config_takes_site_and_prefix_from_the_settings(
    site_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ACL is written for the prefix the gateway reads (GRIDWATCH_TOPIC_PREFIX)."""
    monkeypatch.setenv("GRIDWATCH_SITE", str(site_file))
    monkeypatch.setenv("GRIDWATCH_TOPIC_PREFIX", "district/sensors")
    out = tmp_path / "broker"
    result = CliRunner().invoke(app, ["broker-config", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "district/sensors/" in (out / "acl").read_text()
    flagged = CliRunner().invoke(app, ["broker-config", "--out", str(out), "--prefix", "x/y"])
    assert flagged.exit_code == 0, flagged.output
    assert "x/y/" in (out / "acl").read_text()


@pytest.mark.parametrize(
    "command",
    [["gateway"], ["api"], ["broker-config", "--out", "unused"], ["config", "show"]],
)
def test_every_command_refuses_a_bad_setting_naming_it(
    command: list[str], site_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDWATCH_SITE", str(site_file))
    monkeypatch.setenv("GRIDWATCH_TOPIC_PREFIX", "bad/#")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert "GRIDWATCH_TOPIC_PREFIX=bad/#" in result.output
    assert "wildcard" in result.output


def test_the_help_of_a_shared_option_names_its_variable() -> None:
    for command in (["gateway"], ["api"], ["report"], ["config", "show"]):
        result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert "GRIDWATCH_INFLUX_URL" in result.output or "GRIDWATCH_DB_URL" in result.output
