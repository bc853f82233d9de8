"""The broker and InfluxDB `gridwatch up` runs against: those the settings name, or local ones
it starts under its `var` folder (Mosquitto configured from the site, InfluxDB 1.x), and the
settings of the one process that then uses them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from domain.settings import Settings
from domain.site import Site
from gridwatch.broker.model import DYNSEC_PLUGIN, BrokerOptions
from gridwatch.broker.writer import write_broker_config
from gridwatch.localservers import InfluxDB, Mosquitto, ServiceError, free_port, stop_all

SIM_USER = "gridwatch-sim"
"""The broker login of the simulated demo community (and its MQTT client id)."""


@dataclass
class Endpoints:
    """What `up` runs against, and the processes it started to get there."""

    mqtt_url: str
    notify_url: str
    sim_url: str | None
    influx_url: str
    started: list[Mosquitto | InfluxDB] = field(default_factory=list)
    dynsec_url: str | None = None
    """The started broker's dynamic-security plugin (None: static logins, or a named broker)."""
    dynsec_password: str | None = field(default=None, repr=False)


def start_services(settings: Settings, site: Site, var: Path, sim: bool) -> Endpoints:
    """The broker and InfluxDB the settings name, or local ones started under `var`."""
    mqtt, influx = settings.mqtt.url, settings.influx.url
    started: list[Mosquitto | InfluxDB] = []
    dynsec_url = dynsec_password = None
    try:
        if mqtt is None:
            port = free_port()
            # Device logins change live where the plugin is installed (Debian's mosquitto has
            # it); elsewhere the broker runs the static password file and ACL.
            files = write_broker_config(
                site,
                var / "broker",
                BrokerOptions.local(
                    port, SIM_USER if sim else None, dynamic_security=DYNSEC_PLUGIN.is_file()
                ),
            )
            broker = Mosquitto(workdir=var / "broker", config_file=files.paths.config, port=port)
            started.append(broker.start())
            mqtt, notify = files.gateway_url, files.notifier_url
            sim_url = files.simulator_url(SIM_USER) if sim else None
            if files.dynamic_security:
                dynsec_url, dynsec_password = f"mqtt://{files.host}:{port}", files.admin_password
        else:
            notify, sim_url = settings.notify.mqtt_url or mqtt, mqtt
        if influx is None:
            started.append(InfluxDB(workdir=var / "influxdb").start())
            influx = started[-1].url
    except ServiceError:
        stop_all(*started)
        raise
    return Endpoints(mqtt, notify, sim_url, influx, started, dynsec_url, dynsec_password)


def one_process_settings(settings: Settings, ends: Endpoints, var: Path) -> Settings:
    """The settings of the one process: the endpoints `up` uses (named or started), the spool
    and database under `var` unless a database is named."""
    started_dynsec = (
        {"dynsec_url": ends.dynsec_url, "dynsec_password": ends.dynsec_password}
        if ends.dynsec_url is not None
        else {}
    )
    return settings.replace(
        **started_dynsec,
        mqtt_url=ends.mqtt_url,
        mqtt_client_id="gridwatch-gateway",
        influx_url=ends.influx_url,
        spool_dir=var / "spool",
        db_url=settings.db.url or f"sqlite:///{(var / 'gridwatch.db').resolve()}",
        notify_mqtt_url=ends.notify_url,
        notify_client_id="gridwatch-notify",
    )
