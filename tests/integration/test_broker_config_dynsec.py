"""`gridwatch broker-config --dynamic-security`: the dynamic-security plugin's initial file from the
site (hashes the plugin reads, a role per device pinned to its kind, everything else denied),
kept across re-runs with what the broker changed live, and the settings the API builds its
provisioning client from."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from domain.site import Site
from gridwatch.broker.accounts import passwords_of
from gridwatch.broker.dynconfig import DEFAULT_ACCESS, device_role
from gridwatch.broker.dynsec import DynsecAdmin
from gridwatch.broker.model import BrokerConfigError, BrokerOptions
from gridwatch.broker.passwords import dynsec_hash, verify_dynsec
from gridwatch.broker.writer import write_broker_config
from gridwatch.cli import app
from gridwatch.logins import device_logins
from gridwatch.settings import load_settings
from tests.sites import qingping_site

SITE = qingping_site(
    [
        {"id": "pond-qp-01", "kind": "pond", "grid": "qp-g1"},
        {"id": "water-qp-01", "kind": "water", "grid": "qp-g1"},
    ]
)
DYNAMIC = BrokerOptions(port=18830, dynamic_security=True, gateway_workers=2)


def state(path: Path) -> dict[str, Any]:
    return dict(json.loads((path / "dynamic-security.json").read_text(encoding="utf-8")))


def clients(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["username"]: c for c in doc["clients"]}


def roles(doc: dict[str, Any]) -> dict[str, list[tuple[str, str, bool]]]:
    return {
        r["rolename"]: [(a["acltype"], a["topic"], a["allow"]) for a in r["acls"]]
        for r in doc["roles"]
    }


def test_the_plugins_file_has_every_account_its_hash_and_one_grant_each(tmp_path: Path) -> None:
    files = write_broker_config(SITE, tmp_path, DYNAMIC)
    doc = state(tmp_path)
    creds = json.loads(files.paths.credentials.read_text(encoding="utf-8"))
    passwords = passwords_of(creds)

    assert doc["defaultACLAccess"] == DEFAULT_ACCESS
    assert not any(v for k, v in DEFAULT_ACCESS.items() if k != "unsubscribe")
    by_user = clients(doc)
    assert set(by_user) == {
        "gridwatch-admin",
        "gridwatch-gateway",
        "gridwatch-gateway-w0",
        "gridwatch-gateway-w1",
        "gridwatch-notify",
        "gridwatch-api",
        "crew-qp-g1",
        "pond-qp-01",
        "water-qp-01",
    }
    for user, entry in by_user.items():
        assert verify_dynsec(entry, passwords[user]), user
        assert not verify_dynsec(entry, "wrong")
        assert len(entry["roles"]) == 1
    assert creds["admin"]["username"] == "gridwatch-admin"

    grants = roles(doc)
    assert by_user["water-qp-01"]["roles"] == [{"rolename": device_role("water-qp-01")}]
    assert grants["device-water-qp-01"] == [
        ("publishClientSend", "sensors/water/water-qp-01/telemetry", True),
        ("publishClientSend", "sensors/water/water-qp-01/status", True),
    ]
    assert grants["gridwatch-admin"] == [
        ("publishClientSend", "$CONTROL/dynamic-security/v1", True),
        ("subscribePattern", "$CONTROL/dynamic-security/v1/response", True),
        ("publishClientReceive", "$CONTROL/dynamic-security/v1/response", True),
    ]
    worker = grants["gridwatch-gateway-worker"]
    assert ("subscribePattern", "$share/gridwatch/sensors/+/+/telemetry", True) in worker
    assert ("subscribePattern", "sensors/+/+/telemetry", True) not in worker  # shared only
    assert ("publishClientReceive", "sensors/+/+/telemetry", True) in worker
    assert not any(t == "publishClientSend" for t, _, _ in worker)
    # Only the gateway and the notifiers may write ticket events; no one else writes at all.
    writers = {r for r, acls in grants.items() if any(t == "publishClientSend" for t, _, _ in acls)}
    assert writers == {
        "gridwatch-admin",
        "gridwatch-gateway",
        "gridwatch-ticket-writer",
        "device-pond-qp-01",
        "device-water-qp-01",
    }

    assert stat.S_IMODE(files.paths.dynsec.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.paths.credentials.stat().st_mode) == 0o600
    assert not files.paths.password_file.exists()
    assert not files.paths.acl_file.exists()
    conf = files.paths.config.read_text(encoding="utf-8")
    assert re.findall(r"^plugin (.*)$", conf, re.M) == [str(DYNAMIC.dynsec_plugin)]
    assert re.findall(r"^plugin_opt_config_file (.*)$", conf, re.M) == [str(files.paths.dynsec)]
    assert "password_file" not in conf
    assert "acl_file" not in conf
    env = files.paths.gateway_env.read_text(encoding="utf-8")
    assert f"GRIDWATCH_DYNSEC_PASSWORD={passwords['gridwatch-admin']}\n" in env
    assert "GRIDWATCH_DYNSEC_URL=mqtt://127.0.0.1:18830\n" in env  # no secret in the URL


def test_a_rerun_keeps_every_byte_and_what_the_broker_changed_live(tmp_path: Path) -> None:
    write_broker_config(SITE, tmp_path, DYNAMIC)
    before = (tmp_path / "dynamic-security.json").read_bytes()
    write_broker_config(SITE, tmp_path, DYNAMIC)
    assert (tmp_path / "dynamic-security.json").read_bytes() == before

    # What the plugin saves after a live provision, a rotation and a retirement.
    doc = state(tmp_path)
    live = {"username": "pond-qp-09", **dynsec_hash("live")}
    live["roles"] = [{"rolename": "device-pond-qp-09"}]
    doc["clients"].append(live)
    doc["roles"].append({"rolename": "device-pond-qp-09", "acls": []})
    for c in doc["clients"]:
        if c["username"] == "water-qp-01":
            c.update(dynsec_hash("rotated"))
        if c["username"] == "pond-qp-01":
            c["disabled"] = True
    (tmp_path / "dynamic-security.json").write_text(json.dumps(doc), encoding="utf-8")

    write_broker_config(SITE, tmp_path, DYNAMIC)
    by_user = clients(state(tmp_path))
    assert verify_dynsec(by_user["pond-qp-09"], "live")
    assert verify_dynsec(by_user["water-qp-01"], "rotated")
    assert by_user["pond-qp-01"]["disabled"] is True
    assert "device-pond-qp-09" in roles(state(tmp_path))

    # --rotate issues new passwords to the site's accounts, and says so.
    files = write_broker_config(SITE, tmp_path, DYNAMIC, rotate=True)
    fresh = passwords_of(json.loads(files.paths.credentials.read_text(encoding="utf-8")))
    by_user = clients(state(tmp_path))
    assert verify_dynsec(by_user["water-qp-01"], fresh["water-qp-01"])
    assert verify_dynsec(by_user["pond-qp-09"], "live")  # not the site's: left as it is


def test_a_damaged_plugin_file_is_an_error_not_a_silent_reset(tmp_path: Path) -> None:
    write_broker_config(SITE, tmp_path, DYNAMIC)
    (tmp_path / "dynamic-security.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BrokerConfigError, match="dynamic-security file"):
        write_broker_config(SITE, tmp_path, DYNAMIC)
    write_broker_config(SITE, tmp_path, DYNAMIC, rotate=True)
    assert "gridwatch-admin" in clients(state(tmp_path))


def test_a_missing_plugin_is_named(tmp_path: Path) -> None:
    options = BrokerOptions(dynamic_security=True, dynsec_plugin=tmp_path / "none.so")
    with pytest.raises(BrokerConfigError, match="dynamic-security plugin is not at"):
        write_broker_config(SITE, tmp_path / "out", options)


def site_file(tmp_path: Path, site: Site = SITE) -> Path:
    path = tmp_path / "site.json"  # JSON is YAML
    path.write_text(site.model_dump_json(), encoding="utf-8")
    return path


def test_the_command_writes_the_dynamic_mode_and_the_api_builds_its_client_from_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "broker"
    result = CliRunner().invoke(
        app,
        ["broker-config", "--site", str(site_file(tmp_path)), "--out", str(out),
         "--port", "18831", "--dynamic-security"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "dynamic-security.json" in result.output
    assert not (out / "passwd").exists()
    env = dict(
        line.split("=", 1)
        for line in (out / "gateway.env").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    settings = load_settings(
        dynsec_url=env["GRIDWATCH_DYNSEC_URL"],
        dynsec_user=env["GRIDWATCH_DYNSEC_USER"],
        dynsec_password=env["GRIDWATCH_DYNSEC_PASSWORD"],
    )
    logins = device_logins(settings)
    assert isinstance(logins, DynsecAdmin)
    channel = logins  # the admin is its command channel
    assert (channel.host, channel.port, channel.username) == ("127.0.0.1", 18831, "gridwatch-admin")
    assert env["GRIDWATCH_DYNSEC_PASSWORD"] not in repr(logins)
    assert env["GRIDWATCH_DYNSEC_PASSWORD"] not in repr(settings)
    # Not configured: a static broker, nothing to call.
    assert device_logins(load_settings()) is None


def test_the_admin_password_is_refused_in_a_url() -> None:
    with pytest.raises((ValidationError, ValueError), match="not in the URL"):
        load_settings(dynsec_url="mqtt://gridwatch-admin:secret@127.0.0.1:1883")


def test_the_static_mode_is_unchanged_by_default(tmp_path: Path) -> None:
    files = write_broker_config(SITE, tmp_path, BrokerOptions(port=18830))
    assert files.paths.password_file.exists()
    assert files.paths.acl_file.exists()
    assert not files.paths.dynsec.exists()
    assert "plugin" not in files.paths.config.read_text(encoding="utf-8")
    assert "DYNSEC" not in files.paths.gateway_env.read_text(encoding="utf-8")
