"""`HubSettings` as an operator meets it: the documented flat variables and the nested `__`
form both work, flags win over the environment, which wins over an env file, and a bad value
stops the start with the variable named."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.duration import Retention
from domain.settings import Settings
from gridwatch.settings import SettingsError, env_name, load


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GRIDWATCH_* variable of the test run leaks into these tests."""
    import os

    for name in list(os.environ):
        if name.upper().startswith("GRIDWATCH_"):
            monkeypatch.delenv(name)


# Every variable the contract, README, deployment docs and deploy/ name, with where it lands.
DOCUMENTED = [
    ("GRIDWATCH_MQTT_URL", "mqtt://gw:pw@broker:1883", lambda s: s.mqtt.url),
    ("GRIDWATCH_MQTT_CLIENT_ID", "gw-a", lambda s: s.mqtt.client_id),
    ("GRIDWATCH_MQTT_RECEIVE_MAXIMUM", "200", lambda s: s.mqtt.receive_maximum),
    ("GRIDWATCH_INFLUX_URL", "http://influx:8086", lambda s: s.influx.url),
    ("GRIDWATCH_INFLUX_DB", "hub", lambda s: s.influx.db),
    ("GRIDWATCH_INFLUX_API", "v2", lambda s: s.influx.api),
    ("GRIDWATCH_INFLUX_ORG", "district", lambda s: s.influx.org),
    ("GRIDWATCH_INFLUX_BUCKET", "raw", lambda s: s.influx.bucket),
    ("GRIDWATCH_INFLUX_USER", "reader", lambda s: s.influx.user),
    ("GRIDWATCH_INFLUX_RAW_RETENTION", "90d", lambda s: s.influx.raw_retention.seconds),
    ("GRIDWATCH_DB_URL", "postgresql+psycopg://u:p@db/gw", lambda s: s.db.url),
    ("GRIDWATCH_SITE", "/etc/gridwatch/site.yaml", lambda s: str(s.site)),
    ("GRIDWATCH_RULES", "/etc/gridwatch/rules.yaml", lambda s: str(s.rules)),
    ("GRIDWATCH_HTTP", "0.0.0.0:9000", lambda s: s.api.http),
    ("GRIDWATCH_NOTIFY_MQTT_URL", "mqtt://notify:pw@broker:1883", lambda s: s.notify.mqtt_url),
    ("GRIDWATCH_TOPIC_PREFIX", "city/sensors", lambda s: s.topic_prefix),
    ("GRIDWATCH_SPOOL_DIR", "/var/lib/gridwatch/spool", lambda s: str(s.spool.dir)),
    ("GRIDWATCH_SPOOL_PATH", "/tmp/one.sqlite", lambda s: str(s.spool.path)),
    ("GRIDWATCH_BATCH_INTERVAL_S", "0.1", lambda s: s.batch.interval_s),
    ("GRIDWATCH_LOG_FORMAT", "json", lambda s: s.log.format),
    ("GRIDWATCH_LOG_LEVEL", "WARNING", lambda s: s.log.level),
]
EXPECTED = {
    "GRIDWATCH_MQTT_RECEIVE_MAXIMUM": 200,
    "GRIDWATCH_INFLUX_RAW_RETENTION": 90 * 86_400,
    "GRIDWATCH_BATCH_INTERVAL_S": 0.1,
    "GRIDWATCH_LOG_LEVEL": "warning",
}


@pytest.mark.parametrize(("name", "value", "get"), DOCUMENTED, ids=[d[0] for d in DOCUMENTED])
def test_every_documented_variable_is_read(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, get: object
) -> None:
    monkeypatch.setenv(name, value)
    loaded = load()
    assert get(loaded.settings) == EXPECTED.get(name, value)  # type: ignore[operator]
    assert f"env {name}" in loaded.origins.values()


def test_the_nested_form_sets_the_same_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_MQTT__URL", "mqtt://nested:1883")
    monkeypatch.setenv("GRIDWATCH_INFLUX__RAW_RETENTION", "2h")
    monkeypatch.setenv("gridwatch_api__http", "127.0.0.1:1")  # names are not case-sensitive
    s = load().settings
    assert s.mqtt.url == "mqtt://nested:1883"
    assert s.influx.raw_retention == Retention(7200)
    assert s.api.http == "127.0.0.1:1"


def test_both_spellings_with_different_values_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_INFLUX_DB", "one")
    monkeypatch.setenv("GRIDWATCH_INFLUX__DB", "two")
    with pytest.raises(
        SettingsError,
        match=r"GRIDWATCH_INFLUX_DB.*GRIDWATCH_INFLUX__DB|GRIDWATCH_INFLUX__DB.*GRIDWATCH_INFLUX_DB",
    ):
        load()


def test_flags_over_environment_over_env_file_over_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / "gridwatch.env"
    env_file.write_text(
        "GRIDWATCH_INFLUX_DB=from-file\nGRIDWATCH_MQTT_CLIENT_ID=file-id\n"
        "GRIDWATCH_INFLUX_URL=http://file:8086\n"
    )
    monkeypatch.setenv("GRIDWATCH_INFLUX_DB", "from-env")
    monkeypatch.setenv("GRIDWATCH_INFLUX_URL", "http://env:8086")
    loaded = load({"influx_url": "http://flag:8086", "influx_db": None}, env_file=env_file)
    s = loaded.settings
    assert s.influx.url == "http://flag:8086"
    assert s.influx.db == "from-env"
    assert s.mqtt.client_id == "file-id"
    assert s.batch.size == Settings().batch.size
    assert loaded.origin(("influx", "url")) == "flag --influx-url"
    assert loaded.origin(("influx", "db")) == "env GRIDWATCH_INFLUX_DB"
    assert loaded.origin(("mqtt", "client_id")) == f"env file {env_file} (GRIDWATCH_MQTT_CLIENT_ID)"
    assert loaded.origin(("batch", "size")) == "default"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("GRIDWATCH_INFLUX_RAW_RETENTION", "15min", "at least 1h"),
        ("GRIDWATCH_INFLUX_RAW_RETENTION", "soon", "duration"),
        ("GRIDWATCH_TOPIC_PREFIX", "a/+/b", "wildcard"),
        ("GRIDWATCH_MQTT_URL", "http://nope", "mqtt://"),
        ("GRIDWATCH_BATCH_SIZE", "0", "greater than or equal to 1"),
        ("GRIDWATCH_LOG_FORMAT", "xml", "text"),
        ("GRIDWATCH_WEBHOOK_URLS", "https://a", "JSON list"),
    ],
)
def test_a_bad_value_fails_at_load_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as e:
        load()
    assert f"{name}={value}" in str(e.value)
    assert says in str(e.value)


def test_a_bad_secret_is_not_repeated_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_SPOOL_MAX_READINGS", "-1")
    monkeypatch.setenv("GRIDWATCH_INFLUX_TOKEN", "s3cret-token")
    with pytest.raises(SettingsError) as e:
        load()
    assert "s3cret-token" not in str(e.value)


def test_a_bad_flag_is_named_as_a_flag() -> None:
    with pytest.raises(SettingsError, match=r"--influx-raw-retention 10m: .*at least 1h"):
        load({"influx_raw_retention": "10m"})


def test_flat_names_are_the_documented_ones() -> None:
    assert env_name(("api", "http")) == "GRIDWATCH_HTTP"
    assert env_name(("notify", "mqtt_url")) == "GRIDWATCH_NOTIFY_MQTT_URL"
    assert env_name(("influx", "raw_retention")) == "GRIDWATCH_INFLUX_RAW_RETENTION"
    assert env_name(("site", None)) == "GRIDWATCH_SITE"


def test_replace_validates_like_loading() -> None:
    s = Settings().replace(mqtt_client_id="gw-w1", influx_raw_retention="30d")
    assert s.mqtt.client_id == "gw-w1"
    assert s.influx.raw_retention == Retention(30 * 86_400)
    with pytest.raises(ValueError, match="at least 1h"):
        s.replace(influx_raw_retention="5m")
    with pytest.raises(ValueError, match="no setting"):
        s.replace(mqtt_colour="blue")
