"""`gridwatch site export|apply`: export then apply is a no-op; apply prints the diff and
`--dry-run` applies nothing; a bad file changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gridwatch.cli import app

FULL = """
timezone: Asia/Shanghai
communities:
  - id: qingping
    name: 清平社区
    supervisor: {id: s-003, name: 周红, phone: "138-0000-0003"}
    escalation: [{after: 30m, notify: supervisor}]
    grids:
      - id: qp-g1
        name: 清平1号网格
        worker: {id: w-017, name: 李明, phone: "138-0000-0017"}
        boundary:
          type: Polygon
          coordinates: [[[104.0, 30.6], [104.1, 30.6], [104.1, 30.7], [104.0, 30.6]]]
      - {id: qp-g2, name: 清平2号网格, worker: c-001}
people:
  - {id: c-001, name: 赵强, email: zhao@example.org, role: crew, grids: [qp-g1, qp-g2]}
sensors:
  - id: pond-qp-01
    kind: pond
    grid: qp-g1
    asset: 堰塘A
    location: {lat: 30.66, lon: 104.06}
    interval_s: 300
    rules: {pond.low_oxygen: {for: 30min}}
  - {id: water-qp-01, kind: water, grid: qp-g2}
channels:
  - id: qp-g1-wecom
    type: wecom
    url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc
    grids: [qp-g1]
    severities: [warning, critical]
    lang: zh
  - {id: qp-mail, type: email, to: [ops@example.org], communities: [qingping],
     severities: [critical]}
escalation:
  - {after: 2h, notify: supervisor}
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GRIDWATCH_DB_URL", f"sqlite:///{tmp_path / 'gw.db'}")
    monkeypatch.delenv("GRIDWATCH_SITE", raising=False)
    site = tmp_path / "site.yaml"
    site.write_text(FULL, encoding="utf-8")
    return site


def run(*argv: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(argv))
    return r.exit_code, r.output


def test_export_then_apply_is_a_no_op(env: Path, tmp_path: Path) -> None:
    code, out = run("site", "export", "--site", str(env))  # seeds the empty database
    assert code == 0, out
    doc = yaml.safe_load(out)
    assert doc["communities"][0]["grids"][0]["worker"] == "w-017"
    assert {p["id"] for p in doc["people"]} == {"s-003", "w-017", "c-001"}
    assert doc["sensors"][0]["rules"] == {"pond.low_oxygen": {"for": "30min"}}
    assert doc["channels"][1]["to"] == ["ops@example.org"]
    exported = tmp_path / "exported.yaml"
    exported.write_text(out, encoding="utf-8")
    code, out = run("site", "apply", str(exported))
    assert (code, out.strip()) == (0, "no changes (version 1)")
    code, again = run("site", "export")
    assert again == exported.read_text(encoding="utf-8")
    code, out = run("site", "apply", str(env))  # the original, inline form: the same registry
    assert (code, out.strip()) == (0, "no changes (version 1)")


def test_apply_prints_the_diff_and_dry_run_applies_nothing(env: Path, tmp_path: Path) -> None:
    assert run("site", "export", "--site", str(env))[0] == 0
    changed = tmp_path / "changed.yaml"
    text = FULL.replace(
        "{id: water-qp-01, kind: water, grid: qp-g2}", "{id: sewer-qp-01, kind: sewer, grid: qp-g2}"
    )
    changed.write_text(text.replace("asset: 堰塘A", "asset: 堰塘B"), encoding="utf-8")
    code, out = run("site", "apply", str(changed), "--dry-run")
    assert code == 0, out
    assert "added    sensor sewer-qp-01" in out
    assert "changed  sensor pond-qp-01" in out
    assert "retired  sensor water-qp-01" in out
    assert "dry run: nothing applied (version 1)" in out
    code, out = run("site", "apply", str(changed))
    assert "applied: version 2" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace("grid: qp-g1\n    asset", "grid: qp-g9\n    asset"), encoding="utf-8"
    )
    code, out = run("site", "apply", str(bad))
    assert code == 2
    assert "qp-g9" in out
    assert "pond-qp-01" in out
    assert yaml.safe_load(run("site", "export")[1])["sensors"][0]["asset"] == "堰塘B"
