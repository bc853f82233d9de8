"""`gridwatch config show|sample` as an operator runs them: the effective settings with their
sources and no secret in clear, and the shipped env example equal to what the model generates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from domain.duration import Retention
from domain.settings import Settings
from gridwatch.envfile import sample
from gridwatch.settings import load

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "gridwatch.env.example"

SECRETS = {
    "GRIDWATCH_INFLUX_TOKEN": "tok-3f9a1c77",
    "GRIDWATCH_INFLUX_PASSWORD": "pw-8812bd",
    "GRIDWATCH_WEBHOOK_SECRET": "hmac-55e1a0",
    "GRIDWATCH_MQTT_URL": "mqtt://gateway:mq-pass-9c1e@broker.example:1883",
    "GRIDWATCH_DB_URL": "postgresql+psycopg://gridwatch:db-pass-04ab@db.example/gridwatch",
    "GRIDWATCH_NOTIFY_MQTT_URL": "mqtt://notifier:nt-pass-77aa@broker.example:1883",
}
CLEAR = ("tok-3f9a1c77", "pw-8812bd", "hmac-55e1a0", "mq-pass-9c1e", "db-pass-04ab", "nt-pass-77aa")


def _gridwatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("GRIDWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "gridwatch.cli", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_show_masks_every_secret_and_names_each_source(tmp_path: Path) -> None:
    env_file = tmp_path / "host.env"
    env_file.write_text("GRIDWATCH_INFLUX_DB=from-file\nGRIDWATCH_BATCH_SIZE=250\n")
    run = _gridwatch(
        "config",
        "show",
        "--env-file",
        str(env_file),
        "--influx-url",
        "http://flag:8086",
        env={**SECRETS, "GRIDWATCH_BATCH_SIZE": "500", "GRIDWATCH_INFLUX_UR": "http://typo"},
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout + run.stderr
    for secret in CLEAR:
        assert secret not in out
    rows = {line.split()[0]: line for line in run.stdout.splitlines()}
    assert rows["influx.token"].split()[1] == "**********"
    assert rows["influx.token"].endswith("env GRIDWATCH_INFLUX_TOKEN")
    assert "mqtt://gateway:**********@broker.example:1883" in rows["mqtt.url"]
    assert rows["influx.url"].endswith("flag --influx-url")
    assert rows["influx.db"].endswith(f"env file {env_file} (GRIDWATCH_INFLUX_DB)")
    assert rows["batch.size"].split()[1] == "500"  # the environment wins over the file
    assert rows["batch.size"].endswith("env GRIDWATCH_BATCH_SIZE")
    assert rows["spool.max_readings"].endswith("default")
    assert len(rows) == len(Settings.flat_names())
    assert "GRIDWATCH_INFLUX_UR is not a setting" in run.stderr


def test_show_refuses_a_bad_value_naming_the_variable() -> None:
    run = _gridwatch("config", "show", env={"GRIDWATCH_INFLUX_RAW_RETENTION": "15min"})
    assert run.returncode == 2
    assert "GRIDWATCH_INFLUX_RAW_RETENTION=15min" in run.stderr
    assert "at least 1h" in run.stderr


def test_the_shipped_env_example_is_the_generated_sample() -> None:
    """Regenerate with `gridwatch config sample --out deploy/gridwatch.env.example`."""
    assert EXAMPLE.read_text(encoding="utf-8") == sample()


def test_the_sample_command_writes_the_same_file(tmp_path: Path) -> None:
    out = tmp_path / "gridwatch.env"
    run = _gridwatch("config", "sample", "--out", str(out), env={})
    assert run.returncode == 0, run.stderr
    assert out.read_text(encoding="utf-8") == sample()


def test_the_sample_sets_the_deployment_values_and_documents_every_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.upper().startswith("GRIDWATCH_"):
            monkeypatch.delenv(name)
    s = load(env_file=EXAMPLE).settings
    assert str(s.site) == "/etc/gridwatch/site.yaml"
    assert s.mqtt.url is None  # from broker-config's gateway.env, appended on the host
    assert s.spool.dir == Path("/var/lib/gridwatch/spool")
    assert s.api.http == "127.0.0.1:8000"
    assert s.influx.url == "http://127.0.0.1:8086"
    assert s.influx.db == "gridwatch"
    assert s.db.url == "postgresql+psycopg://gridwatch:CHANGE_ME@127.0.0.1:5432/gridwatch"
    assert s.influx.raw_retention == Retention()  # the rest keeps its default
    text = sample()
    for flat in Settings.flat_names():
        assert f"GRIDWATCH_{flat.upper()}=" in text


def test_every_commented_default_in_the_sample_reads_back_as_that_default(tmp_path: Path) -> None:
    """Uncommenting any line of the sample changes nothing: the text is the default's."""
    lines = [
        line.removeprefix("# ")
        for line in sample().splitlines()
        if line.startswith("# GRIDWATCH_") and "=" in line
    ]
    uncommented = tmp_path / "all.env"
    uncommented.write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GRIDWATCH_")}
    os.environ.clear()
    try:
        os.environ.update(env)
        assert load(env_file=uncommented).settings == load().settings
    finally:
        os.environ.clear()
        os.environ.update(env)
