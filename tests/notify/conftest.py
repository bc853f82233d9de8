"""Robot servers, an SMTP server and databases for the notifier's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.db.engine import open_database
from tests.pg import pg_url, postgres  # noqa: F401 - fixtures
from tests.robots.server import DingTalkRobot, FeishuRobot, WeComRobot
from tests.robots.smtp import SmtpServer

SECRET_DT = "SECdingtalk0123456789"
SECRET_FS = "feishu-secret-abc"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    e = open_database(f"sqlite:///{tmp_path / 'gw.db'}")
    yield e
    e.dispose()


@pytest.fixture
def wecom() -> Iterator[WeComRobot]:
    r = WeComRobot(per_min=20, token="wecom-key-1").start()
    yield r
    r.stop()


@pytest.fixture
def dingtalk() -> Iterator[DingTalkRobot]:
    r = DingTalkRobot(per_min=20, secret=SECRET_DT, token="dt-token-1").start()
    yield r
    r.stop()


@pytest.fixture
def feishu() -> Iterator[FeishuRobot]:
    r = FeishuRobot(per_min=100, per_s=5, secret=SECRET_FS, token="fs-hook-1").start()
    yield r
    r.stop()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    s = SmtpServer(tls_dir=tmp_path, user="gw", password="pw-1").start()
    yield s
    s.stop()
