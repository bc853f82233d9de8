"""Each gateway worker's broker identity: its own login on an authenticating broker, where the
user name becomes the client id (gateway/identity.py)."""

from __future__ import annotations

import pytest

from domain.settings import Settings
from gateway.identity import (
    WorkerIdentityError,
    check_workers,
    gateway_workers,
    worker_settings,
)
from gridwatch.settings import load_settings


def settings(url: str, passwords: str | None = None) -> Settings:
    return load_settings(
        mqtt_url=url, mqtt_client_id="gridwatch-gateway", mqtt_worker_passwords=passwords
    )


def test_each_worker_logs_in_as_its_own_account_with_its_own_password() -> None:
    base = settings("mqtt://gridwatch-gateway:gw-pw@127.0.0.1:1883", "pw-0,pw-1")
    w0, w1 = worker_settings(base, 0), worker_settings(base, 1)
    assert (w0.mqtt.endpoint.username, w0.mqtt.endpoint.password) == (
        "gridwatch-gateway-w0",
        "pw-0",
    )
    assert (w1.mqtt.endpoint.username, w1.mqtt.endpoint.password) == (
        "gridwatch-gateway-w1",
        "pw-1",
    )
    assert (w1.mqtt.endpoint.host, w1.mqtt.endpoint.port) == ("127.0.0.1", 1883)
    # the client id is the user name, as the broker would make it anyway
    assert (w0.mqtt.client_id, w1.mqtt.client_id) == (
        "gridwatch-gateway-w0",
        "gridwatch-gateway-w1",
    )
    assert w0.spool_file != w1.spool_file


def test_an_anonymous_broker_keeps_the_url_and_numbers_the_client_ids() -> None:
    base = settings("mqtt://127.0.0.1:1883")
    w1 = worker_settings(base, 1)
    assert w1.mqtt.url == base.mqtt.url
    assert w1.mqtt.client_id == "gridwatch-gateway-w1"


@pytest.mark.parametrize("passwords", [None, "", "pw-0"])
def test_a_worker_without_a_login_is_refused_at_start(passwords: str | None) -> None:
    base = settings("mqtt://gridwatch-gateway:gw-pw@127.0.0.1:1883", passwords)
    with pytest.raises(WorkerIdentityError, match="broker-config --workers"):
        check_workers(base, 2)


@pytest.mark.parametrize(("cores", "workers"), [(1, 1), (2, 1), (4, 3), (16, 15)])
def test_the_default_worker_count_is_one_less_than_the_cores(cores: int, workers: int) -> None:
    assert gateway_workers(settings("mqtt://127.0.0.1:1883"), cores=cores) == workers


def test_a_worker_count_that_is_set_is_kept_whatever_the_cores() -> None:
    one = load_settings(mqtt_url="mqtt://127.0.0.1:1883", gateway_workers=1)
    three = load_settings(mqtt_url="mqtt://127.0.0.1:1883", gateway_workers=3)
    assert (gateway_workers(one, cores=16), gateway_workers(three, cores=2)) == (1, 3)


def test_on_an_authenticating_broker_the_default_is_bounded_by_the_worker_logins() -> None:
    url = "mqtt://gridwatch-gateway:gw-pw@127.0.0.1:1883"
    assert gateway_workers(settings(url, "pw-0,pw-1"), cores=16) == 2
    assert gateway_workers(settings(url), cores=16) == 1  # no logins: the in-process gateway
    check_workers(settings(url, "pw-0,pw-1"), gateway_workers(settings(url, "pw-0,pw-1"), 16))
