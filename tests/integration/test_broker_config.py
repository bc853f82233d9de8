"""The files `gridwatch broker-config` writes: hashes Mosquitto's own tool agrees with, limits
sized from the site, passwords that survive a re-run, and secrets kept private."""

from __future__ import annotations

import base64
import json
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from domain.site import Site
from gridwatch.broker.model import MIN_QUEUE, BrokerConfigError, BrokerOptions, TlsFiles, queue_size
from gridwatch.broker.passwords import hash_password, parse_password_file, verify_password
from gridwatch.broker.writer import write_broker_config
from gridwatch.cli import app
from tests.sites import qingping, qingping_site


def sensors(n: int, interval_s: int = 300, kind: str = "pond") -> list[dict[str, Any]]:
    return [
        {"id": f"{kind}-{i:04d}", "kind": kind, "grid": "qp-g1", "interval_s": interval_s}
        for i in range(n)
    ]


def site_of(entries: list[dict[str, Any]]) -> Site:
    return qingping_site(entries)


def setting(conf: str, name: str) -> list[str]:
    return re.findall(rf"^{name} (.*)$", conf, flags=re.MULTILINE)


# -- password hashes ------------------------------------------------------------------------


def test_a_hash_from_mosquitto_passwd_verifies_and_is_reproduced(tmp_path: Path) -> None:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.fail("mosquitto_passwd is missing: apt-get install mosquitto (make test does)")
    pwfile = tmp_path / "pw"
    subprocess.run([tool, "-c", "-b", str(pwfile), "alice", "s3cret ü"], check=True)
    theirs = parse_password_file(pwfile.read_text())["alice"]

    assert verify_password(theirs, "s3cret ü")
    assert not verify_password(theirs, "s3cret u")
    _, _, iterations, salt, _ = theirs.split("$")
    assert hash_password("s3cret ü", base64.b64decode(salt), int(iterations)) == theirs


def test_our_hashes_have_mosquittos_shape_and_fresh_salts() -> None:
    a, b = hash_password("pw"), hash_password("pw")
    assert re.fullmatch(r"\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==", a)
    assert a != b
    assert verify_password(a, "pw")
    assert verify_password(b, "pw")
    assert not verify_password("$6$junk", "pw")
    assert not verify_password("$7$101$!!!$!!!", "pw")


# -- sizing -------------------------------------------------------------------------------


def test_queue_holds_an_hour_of_a_large_sites_readings(tmp_path: Path) -> None:
    big = site_of(sensors(2000, interval_s=60))  # 120,000 readings an hour
    files = write_broker_config(big, tmp_path, BrokerOptions(port=1883))
    conf = files.paths.config.read_text()
    assert files.readings_per_hour == 120_000
    assert files.queue_size == 124_000  # + an online and an offline status per device
    assert setting(conf, "max_queued_messages") == ["124000"]


def test_a_small_site_still_gets_the_minimum_queue() -> None:
    assert queue_size(site_of(sensors(3))) == MIN_QUEUE
    assert queue_size(site_of([])) == MIN_QUEUE


def test_the_config_carries_the_baseline(tmp_path: Path) -> None:
    files = write_broker_config(site_of(sensors(2)), tmp_path, BrokerOptions(port=18830))
    conf = files.paths.config.read_text()
    expected = {
        "allow_anonymous": "false",
        "use_username_as_clientid": "true",
        "persistence": "true",
        "autosave_interval": "60",
        "persistent_client_expiration": "14d",
        "max_packet_size": "65536",
        "max_inflight_messages": "1000",
        "password_file": str(files.paths.password_file),
        "acl_file": str(files.paths.acl_file),
        "persistence_location": f"{files.paths.persistence}/",
        "listener": "18830",
    }
    for name, value in expected.items():
        assert setting(conf, name) == [value], name
    # A listener setting before the first `listener` line would open a default one on 1883.
    assert conf.index("listener 18830") < conf.index("use_username_as_clientid")


def test_tls_adds_a_tls_1_2_listener_and_keeps_plain_mqtt_on_loopback(tmp_path: Path) -> None:
    tls = TlsFiles(certfile=tmp_path / "c.pem", keyfile=tmp_path / "k.pem", cafile=None)
    conf = write_broker_config(
        site_of(sensors(1)), tmp_path / "out", BrokerOptions(port=1883, tls=tls)
    ).paths.config.read_text()
    assert setting(conf, "listener") == ["1883 127.0.0.1", "8883"]
    assert setting(conf, "tls_version") == ["tlsv1.2"]
    assert setting(conf, "certfile") == [str(tmp_path / "c.pem")]
    assert setting(conf, "use_username_as_clientid") == ["true", "true"]


def test_the_acl_pins_each_device_to_its_own_kind_and_id(tmp_path: Path) -> None:
    site = site_of([*sensors(1, kind="pond"), *sensors(1, kind="water")])
    acl = write_broker_config(site, tmp_path, BrokerOptions(prefix="gw/sensors")).paths
    text = acl.acl_file.read_text()
    assert "user water-0000\ntopic write gw/sensors/water/water-0000/telemetry\n" in text
    assert "topic write gw/sensors/water/water-0000/status\n" in text
    assert "pattern" not in text
    assert "topic read gw/sensors/#" in text  # the gateway, and only the gateway, reads
    assert "user crew-qp-g1\ntopic read gridwatch/tickets/qp-g1\n" in text
    assert text.count("topic read") == 3  # gateway: sensors and $SYS; the one crew: tickets


# -- idempotence and secrets --------------------------------------------------------------


def test_a_rerun_keeps_every_password_and_every_byte(tmp_path: Path) -> None:
    site = site_of(sensors(5))
    first = write_broker_config(site, tmp_path, BrokerOptions())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    second = write_broker_config(site, tmp_path, BrokerOptions())
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert before == after
    assert second.gateway_password == first.gateway_password
    assert second.added == ()
    assert second.removed == ()


def test_a_new_sensor_gets_a_password_and_the_others_keep_theirs(tmp_path: Path) -> None:
    write_broker_config(site_of(sensors(2)), tmp_path, BrokerOptions())
    old = json.loads((tmp_path / "credentials.json").read_text())["devices"]
    files = write_broker_config(site_of(sensors(3)), tmp_path, BrokerOptions())
    new = json.loads((tmp_path / "credentials.json").read_text())["devices"]
    assert files.added == ("pond-0002",)
    assert {k: new[k]["password"] for k in old} == {k: v["password"] for k, v in old.items()}
    hashes = parse_password_file((tmp_path / "passwd").read_text())
    assert all(verify_password(hashes[k], new[k]["password"]) for k in new)


def test_rotate_issues_new_passwords_to_everyone(tmp_path: Path) -> None:
    site = site_of(sensors(2))
    first = write_broker_config(site, tmp_path, BrokerOptions())
    old = json.loads((tmp_path / "credentials.json").read_text())["devices"]
    second = write_broker_config(site, tmp_path, BrokerOptions(), rotate=True)
    new = json.loads((tmp_path / "credentials.json").read_text())["devices"]
    assert second.gateway_password != first.gateway_password
    assert all(new[k]["password"] != old[k]["password"] for k in old)
    hashes = parse_password_file((tmp_path / "passwd").read_text())
    assert not verify_password(hashes["pond-0000"], old["pond-0000"]["password"])


def test_secrets_are_private_to_the_owner(tmp_path: Path) -> None:
    files = write_broker_config(site_of(sensors(1)), tmp_path, BrokerOptions())
    assert stat.S_IMODE(files.paths.credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.paths.password_file.stat().st_mode) & 0o007 == 0
    assert stat.S_IMODE(files.paths.acl_file.stat().st_mode) & 0o007 == 0


def test_a_damaged_credentials_file_is_an_error_not_a_silent_rotation(tmp_path: Path) -> None:
    write_broker_config(site_of(sensors(1)), tmp_path, BrokerOptions())
    (tmp_path / "credentials.json").write_text("{not json")
    with pytest.raises(BrokerConfigError, match="--rotate"):
        write_broker_config(site_of(sensors(1)), tmp_path, BrokerOptions())
    write_broker_config(site_of(sensors(1)), tmp_path, BrokerOptions(), rotate=True)


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        (BrokerOptions(gateway_user="pond-0000"), "two accounts"),
        (BrokerOptions(notifier_user="crew-qp-g1"), "two accounts"),
        (BrokerOptions(notifier_user="gridwatch-gateway"), "two accounts"),
        (BrokerOptions(gateway_user="bad name"), "gateway user"),
        (BrokerOptions(prefix="sensors/#"), "prefix"),
        (BrokerOptions(port=0), "port"),
        (BrokerOptions(tls=TlsFiles(Path("c"), Path("k"), port=1883)), "TLS listener"),
        (BrokerOptions(max_inflight=70_000), "16-bit"),
    ],
)
def test_unsafe_options_are_refused(tmp_path: Path, opts: BrokerOptions, message: str) -> None:
    with pytest.raises(BrokerConfigError, match=message):
        write_broker_config(site_of(sensors(1)), tmp_path, opts)
    assert not (tmp_path / "credentials.json").exists()


# -- the command --------------------------------------------------------------------------


def test_the_command_writes_the_files_and_prints_the_gateway_login(tmp_path: Path) -> None:
    site_file = tmp_path / "site.yaml"
    site_file.write_text(
        yaml.safe_dump(qingping(sensors(4, interval_s=60))),
        encoding="utf-8",
    )
    out = tmp_path / "broker"
    args = ["broker-config", "--site", str(site_file), "--out", str(out), "--port", "2883"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    creds = json.loads((out / "credentials.json").read_text())
    assert summary["gateway"] == creds["gateway"]
    assert summary["max_queued_messages"] == MIN_QUEUE
    assert summary["readings_per_hour"] == 240
    assert setting((out / "mosquitto.conf").read_text(), "listener") == ["2883"]

    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0, text.output
    assert f"hub logins:    {out / 'gateway.env'}" in text.output
    assert creds["gateway"]["password"] not in text.output  # a password is never printed


def test_the_command_reports_a_bad_site_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "site.yaml"
    bad.write_text("communities: []\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["broker-config", "--site", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "communities" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

    half_tls = ["--tls-cert", str(bad)]
    result = CliRunner().invoke(
        app, ["broker-config", "--site", str(bad), "--out", str(tmp_path), *half_tls]
    )
    assert result.exit_code == 2
    assert "go together" in result.output


def test_a_link_planted_at_a_temp_name_is_never_followed(tmp_path: Path) -> None:
    # The writer once went through `.credentials.json.tmp` with O_CREAT|O_TRUNC: whoever could
    # write the folder could point that name at any file and have a root `broker-config`
    # overwrite it with every device's clear-text password.
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    out = tmp_path / "broker"
    out.mkdir()
    planted = [out / f".{name}.tmp" for name in ("credentials.json", "passwd", "acl")]
    for link in planted:
        link.symlink_to(victim)

    files = write_broker_config(site_of(sensors(1)), out, BrokerOptions())

    assert victim.read_text() == "untouched\n"
    assert all(link.is_symlink() for link in planted)
    creds = files.paths.credentials
    assert not creds.is_symlink()
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert json.loads(creds.read_text())["gateway"]["password"] == files.gateway_password
    assert sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp")) == sorted(
        p.name for p in planted
    )  # no temp file of ours left behind
