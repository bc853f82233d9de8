"""What a hub is told, as plain frozen models: one tree (`Settings`) with a section per
concern — `mqtt`, `dynsec`, `influx`, `db`, `api`, `notify`, `batch`, `spool`, `gateway`, `log`.

No environment here: `gridwatch.settings.HubSettings` reads flags, `GRIDWATCH_*` variables and
an env file into this tree once, at start, and hands it (or a section of it) to the processes.
Defined in `domain` because the gateway and the services both take it and may not import each
other or the composition root.

Every field has one documented flat name — `<section>_<field>`, e.g. `mqtt_url`, read from
`GRIDWATCH_MQTT_URL` — except the few in `_FLAT_EXCEPTIONS`, kept for names the contract and
deployments already use (`GRIDWATCH_HTTP`). `Settings.flat(...)` builds a tree from those names
(tests and benchmarks), `Settings.replace(...)` changes some of them. The sections are in
`domain.sections`, addresses and masking in `domain.endpoints`.

A field's `description` is its comment in the generated sample env file and its `--help`; a
field with `examples` is set to the first of them in the sample (deploy/gridwatch.env.example,
`gridwatch config sample`), the others appear there commented out with their default.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field
from pydantic.fields import FieldInfo

from domain import topics
from domain.sections import (
    ApiSettings,
    BatchSettings,
    DbSettings,
    DynsecSettings,
    FieldSettings,
    GatewaySettings,
    InfluxSettings,
    LogSettings,
    MqttSettings,
    NotifySettings,
    Section,
    SpoolSettings,
)


def _empty_is_none(value: object) -> object:
    return None if value == "" else value


OptionalPath = Annotated[Path | None, BeforeValidator(_empty_is_none)]
"""A file that may be unnamed; an empty value (`GRIDWATCH_RULES=`) names none."""


_FLAT_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("api", "http"): "http",
    ("api", "max_limit"): "max_limit",
    ("notify", "webhook_urls"): "webhook_urls",
    ("notify", "webhook_secret"): "webhook_secret",
    ("notify", "ack_timeout_s"): "ack_timeout_s",
    ("notify", "public_url"): "public_url",
    ("notify", "smtp_url"): "smtp_url",
    ("notify", "smtp_from"): "smtp_from",
    ("notify", "smtp_ca_file"): "smtp_ca_file",
    ("spool", "enabled"): "spool",
    ("gateway", "broker_stats"): "broker_stats",
    ("gateway", "stale_after_s"): "stale_after_s",
}
"""Flat names that are not `<section>_<field>`: the names these settings had before they were
grouped (GRIDWATCH_HTTP is in the contract), kept so no deployment has to rename a variable."""


class Settings(Section):
    """Everything a hub process can be told; each process reads the sections it needs."""

    site: OptionalPath = Field(
        default=None,
        description="site registry YAML (contract §1)",
        examples=["/etc/gridwatch/site.yaml"],
    )
    rules: OptionalPath = Field(default=None, description="rule overrides YAML")
    topic_prefix: topics.TopicPrefix = Field(
        default=topics.DEFAULT_PREFIX, description="MQTT topic prefix of the devices"
    )
    mqtt: MqttSettings = MqttSettings()
    dynsec: DynsecSettings = DynsecSettings()
    influx: InfluxSettings = InfluxSettings()
    db: DbSettings = DbSettings()
    api: ApiSettings = ApiSettings()
    notify: NotifySettings = NotifySettings()
    batch: BatchSettings = BatchSettings()
    spool: SpoolSettings = SpoolSettings()
    gateway: GatewaySettings = GatewaySettings()
    log: LogSettings = LogSettings()
    field: FieldSettings = FieldSettings()

    @classmethod
    def sections(cls) -> dict[str, type[Section]]:
        """The top-level fields that are sections, by name."""
        out: dict[str, type[Section]] = {}
        for name, info in cls.model_fields.items():
            if isinstance(info.annotation, type) and issubclass(info.annotation, Section):
                out[name] = info.annotation
        return out

    @classmethod
    def field_info(cls, top: str, field: str | None) -> FieldInfo:
        """The declaration of one setting (its type, default and description)."""
        if field is None:
            return cls.model_fields[top]
        return cls.sections()[top].model_fields[field]

    @classmethod
    def flat_names(cls) -> dict[str, tuple[str, str | None]]:
        """Every flat name → (top-level field, section field or None), in declaration order."""
        out: dict[str, tuple[str, str | None]] = {}
        sections = cls.sections()
        for name in cls.model_fields:
            if name in sections:
                for field in sections[name].model_fields:
                    flat = _FLAT_EXCEPTIONS.get((name, field), f"{name}_{field}")
                    out[flat] = (name, field)
            else:
                out[name] = (name, None)
        return out

    @classmethod
    def nest(cls, flat: dict[str, Any]) -> dict[str, Any]:
        """`{"mqtt_url": u}` → `{"mqtt": {"url": u}}`; an unknown name is a ValueError."""
        names = cls.flat_names()
        tree: dict[str, Any] = {}
        for key, value in flat.items():
            if key not in names:
                raise ValueError(f"no setting is called {key!r}")
            top, field = names[key]
            if field is None:
                tree[top] = value
            else:
                tree.setdefault(top, {})[field] = value
        return tree

    @classmethod
    def flat(cls, **values: Any) -> Self:
        """A tree from flat names: `Settings.flat(mqtt_url=..., influx_db=..., batch_size=1)`."""
        return cls.model_validate(cls.nest(values))

    def replace(self, **values: Any) -> Self:
        """A copy with some flat-named settings changed, validated like the original."""
        tree = self.model_dump()
        for top, sub in self.nest(values).items():
            if isinstance(sub, dict) and isinstance(tree.get(top), dict):
                tree[top] = {**tree[top], **sub}
            else:
                tree[top] = sub
        return self.model_validate(tree)

    @property
    def spool_file(self) -> Path | None:
        """Where the spool lives (None: no spool — a live batch then retries until stored)."""
        if not self.spool.enabled:
            return None
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", self.mqtt.client_id)
        return self.spool.path or self.spool.dir / f"{safe}.sqlite"

    @property
    def api_notice_url(self) -> str | None:
        """The broker the API's ticket events go to: api.mqtt_url, else the readings' broker."""
        return self.api.mqtt_url or self.mqtt.url

    @property
    def notice_url(self) -> str | None:
        """The broker ticket events go to: notify.mqtt_url, else the readings' broker."""
        return self.notify.mqtt_url or self.mqtt.url
