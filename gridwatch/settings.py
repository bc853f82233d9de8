"""`HubSettings`: the one reader of the environment. Every command builds it once, at start,
from its flags, the `GRIDWATCH_*` environment variables and (when given) an env file, and passes
the plain frozen `domain.settings.Settings` tree down; no other module reads `GRIDWATCH_*`.

Precedence: flags > environment > env file > defaults. A setting has two spellings, both read:
the documented flat name (`GRIDWATCH_MQTT_URL`, `GRIDWATCH_INFLUX_RAW_RETENTION`,
`GRIDWATCH_HTTP`: see `Settings.flat_names`) and pydantic-settings' nested form with `__`
(`GRIDWATCH_MQTT__URL`); giving one setting both ways with different values is an error rather
than a silent choice. Names are matched without regard to case. A bad value fails here, at
start, with the variable named (`GRIDWATCH_INFLUX_RAW_RETENTION=15min: a retention must be …`).
"""

from __future__ import annotations

import json
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from domain.endpoints import MASK
from domain.settings import Settings

PREFIX = "GRIDWATCH_"
NESTED = "__"

Leaf = tuple[str, str | None]
"""(top-level field, section field or None): one setting's place in the tree."""


class SettingsError(ValueError):
    """Settings that cannot be used; the message names the variable or flag and the value."""


def env_name(leaf: Leaf) -> str:
    """The documented (flat) variable of a setting: ("mqtt", "url") → GRIDWATCH_MQTT_URL."""
    return PREFIX + _flat_of()[leaf].upper()


def _flat_of() -> dict[Leaf, str]:
    return {leaf: flat for flat, leaf in Settings.flat_names().items()}


def _spellings() -> dict[str, Leaf]:
    """Every accepted variable name (upper case) → the setting it sets."""
    out: dict[str, Leaf] = {}
    for flat, leaf in Settings.flat_names().items():
        out[PREFIX + flat.upper()] = leaf
        top, field = leaf
        if field is not None:
            out[f"{PREFIX}{top}{NESTED}{field}".upper()] = leaf
    return out


def _field(leaf: Leaf) -> FieldInfo:
    return Settings.field_info(*leaf)


def _decode(leaf: Leaf, name: str, raw: str) -> Any:
    """Text as a field wants it: JSON for list fields, the text itself for the rest (pydantic
    converts numbers, booleans, paths and enums from text). An empty value of a setting that
    may be unset (`GRIDWATCH_INFLUX_TOKEN=`) unsets it, as the sample's empty lines mean."""
    if raw == "" and _field(leaf).default is None:
        return None
    if typing.get_origin(_field(leaf).annotation) is list:
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise SettingsError(f'{name}={raw}: write a JSON list, e.g. ["https://…"]') from None
    return raw


@dataclass(frozen=True, slots=True)
class Variables:
    """One layer of `GRIDWATCH_*` variables (the environment, or an env file), read into the
    tree; `origins` says which variable set which setting (for `config show` and errors)."""

    values: Mapping[str, str | None]
    label: str  # "env" or "env file <path>"

    @classmethod
    def environment(cls, environ: Mapping[str, str] | None = None) -> Variables:
        return cls(dict(os.environ if environ is None else environ), "env")

    @classmethod
    def env_file(cls, path: Path) -> Variables:
        if not path.is_file():
            raise SettingsError(f"env file {path}: no such file")
        return cls(dotenv_values(path), f"env file {path}")

    def origins(self) -> dict[Leaf, str]:
        """setting → the variable that set it, e.g. ("mqtt", "url") → "GRIDWATCH_MQTT_URL"."""
        found: dict[Leaf, str] = {}
        spellings = _spellings()
        for name, value in self.values.items():
            leaf = spellings.get(name.upper())
            if leaf is None or value is None:
                continue
            if leaf in found and self.values[found[leaf]] != value:
                raise SettingsError(
                    f"{found[leaf]} and {name} set the same setting to different values "
                    f"({self.label}); keep one"
                )
            found.setdefault(leaf, name)
        return found

    def unknown(self) -> list[str]:
        """`GRIDWATCH_*` names here that no setting answers to."""
        spellings = _spellings()
        return [
            n for n in self.values if n.upper().startswith(PREFIX) and n.upper() not in spellings
        ]

    def tree(self) -> dict[str, Any]:
        """The values these variables give, nested as `Settings` takes them."""
        out: dict[str, Any] = {}
        for leaf, name in self.origins().items():
            value = _decode(leaf, name, str(self.values[name]))
            top, field = leaf
            if field is None:
                out[top] = value
            else:
                out.setdefault(top, {})[field] = value
        return out


class _Layer(PydanticBaseSettingsSource):
    """`Variables` as a pydantic-settings source."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Variables) -> None:
        super().__init__(settings_cls)
        self.variables = variables

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads every field at once  # pragma: no cover

    def __call__(self) -> dict[str, Any]:
        return self.variables.tree()


class HubSettings(BaseSettings, Settings):
    """`Settings` read by pydantic-settings from flags (the constructor's arguments), the
    environment and an env file (`_env_file=`). Build it through `load`; pass on `.plain()`."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, then our reading of the environment, then of the env file (if one is named):
        pydantic-settings' own env source knows no flat aliases for nested fields."""
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            _Layer(settings_cls, Variables.environment()),
        ]
        env_file = getattr(dotenv_settings, "env_file", None)
        if isinstance(env_file, str | Path):
            sources.append(_Layer(settings_cls, Variables.env_file(Path(env_file))))
        return tuple(sources)

    def plain(self) -> Settings:
        """The same values as a plain frozen `Settings` (what processes receive)."""
        return Settings.model_validate(
            {name: getattr(self, name) for name in Settings.model_fields}
        )


@dataclass(frozen=True, slots=True)
class Loaded:
    """The effective settings and where each came from."""

    settings: Settings
    origins: dict[Leaf, str]  # setting → "flag --x", "env NAME", "env file F (NAME)"
    unknown: tuple[str, ...] = ()  # GRIDWATCH_* names that are no setting (a typo?), ignored

    def origin(self, leaf: Leaf) -> str:
        """Where one setting came from: a flag, a variable, or "default"."""
        return self.origins.get(leaf, "default")


def load(flags: Mapping[str, Any] | None = None, *, env_file: Path | None = None) -> Loaded:
    """Read the settings: `flags` by flat name (a None value is a flag not given), over the
    environment, over `env_file`, over the defaults. Raises SettingsError naming the variable
    or flag of each bad value."""
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    layers = [Variables.environment()]
    if env_file is not None:
        layers.append(Variables.env_file(env_file))
    origins: dict[Leaf, str] = {}
    for layer in reversed(layers):
        for leaf, name in layer.origins().items():
            origins[leaf] = f"env {name}" if layer.label == "env" else f"{layer.label} ({name})"
    try:
        nested = Settings.nest(given)
    except ValueError as e:
        raise SettingsError(str(e)) from None
    names = Settings.flat_names()
    for flat in given:
        origins[names[flat]] = "flag --" + flat.replace("_", "-")
    try:
        hub = HubSettings(_env_file=env_file, **nested)
    except ValidationError as e:
        raise SettingsError(_explain(e, layers, given)) from None
    return Loaded(hub.plain(), origins, tuple(sorted(n for v in layers for n in v.unknown())))


def _explain(error: ValidationError, layers: list[Variables], flags: Mapping[str, Any]) -> str:
    """Each failure as `GRIDWATCH_X=value: reason` (or `--flag value: reason`), naming what
    the operator wrote; a secret's value is masked."""
    flat_of = _flat_of()
    lines = []
    for err in error.errors():
        loc = tuple(str(p) for p in err["loc"])
        leaf: Leaf = (loc[0], loc[1] if len(loc) > 1 else None)
        if leaf not in flat_of:
            leaf = (loc[0], None)
        msg = str(err["msg"]).removeprefix("Value error, ")
        flat = flat_of.get(leaf, loc[0])
        if flat in flags:
            value = MASK if _is_secret(leaf) else flags[flat]
            lines.append(f"--{flat.replace('_', '-')} {value}: {msg}")
            continue
        for layer in layers:
            name = layer.origins().get(leaf)
            if name is not None:
                value = MASK if _is_secret(leaf) else layer.values[name]
                where = "" if layer.label == "env" else f" ({layer.label})"
                lines.append(f"{name}={value}{where}: {msg}")
                break
        else:
            lines.append(f"{'.'.join(loc)}: {msg}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def _is_secret(leaf: Leaf) -> bool:
    return "SecretStr" in str(_field(leaf).annotation)


def load_settings(**flags: Any) -> Settings:
    """`load(flags).settings`: what a command given these flags (by flat name) runs with —
    the environment and defaults beneath them. For benchmarks, tests and embedding."""
    return load(flags).settings
