"""`gridwatch notify test CHANNEL_ID` against a local robot."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from gridwatch.cli import app
from tests.notify.conftest import SECRET_DT
from tests.notify.support import site
from tests.robots.server import DingTalkRobot


def write_site(tmp_path: Path, url: str, secret: str) -> Path:
    reg = site(
        [{"id": "qp-dt", "type": "dingtalk", "url": url, "secret": secret, "grids": ["qp-g1"]}]
    )
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(reg.site.model_dump(mode="json"), allow_unicode=True))
    return path


def test_notify_test_prints_the_robots_answer(tmp_path: Path, dingtalk: DingTalkRobot) -> None:
    path = write_site(tmp_path, dingtalk.url, SECRET_DT)
    r = CliRunner().invoke(app, ["notify", "test", "qp-dt", "--site", str(path)])
    assert r.exit_code == 0, r.output
    assert "qp-dt (dingtalk): sent — ok" in r.output
    assert '"errcode": 0' in r.output
    assert "测试消息" in dingtalk.received[0].body["markdown"]["text"]


def test_notify_test_of_a_wrong_secret_fails(tmp_path: Path, dingtalk: DingTalkRobot) -> None:
    path = write_site(tmp_path, dingtalk.url, "wrong")
    r = CliRunner().invoke(app, ["notify", "test", "qp-dt", "--site", str(path)])
    assert r.exit_code == 1
    assert "310000" in r.output
    r = CliRunner().invoke(app, ["notify", "test", "nope", "--site", str(path)])
    assert r.exit_code == 2
    assert "channels: qp-dt" in r.output
