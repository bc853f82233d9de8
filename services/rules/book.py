"""Loading the rules: shipped defaults, merged with a site's override file, checked at start.

Override file (every section optional; the most specific wins, sensor > kind > site > default):

    rules:    {<rule id>: <patch or a whole new rule>}     # the whole site
    kinds:    {<kind>: {<rule id>: <patch>}}               # every sensor of a kind
    sensors:  {<sensor id>: {<rule id>: <patch>}}          # one sensor

A patch is merged field by field (`{for: 30min}`, `{warning: {value: 2.5}}`, `{enabled: false}`).
A patch that changes a limit without naming its own source turns the limit's provenance into
`site`, so a ticket never calls a site's own number a national limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from domain.catalog import Kind
from domain.site import Registry
from services.rules.overrides import (
    RuleError,
    applies,
    check_inhibits,
    merge,
    section,
    validate,
)
from services.rules.spec import SINGLETON_TYPES, CommunitySilentRule, Rule, ThresholdRule

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~20x faster when present


class RuleBook:
    """The effective rules of a site: defaults merged with the site's overrides, validated.

    `for_sensor` is what the engine compiles; results are cached, so sensors without their own
    overrides share one set of rule objects.
    """

    def __init__(
        self,
        defaults: Mapping[str, Any],
        overrides: Mapping[str, Any] | None = None,
        *,
        defaults_origin: str = "defaults.yaml",
        overrides_origin: str = "<overrides>",
        registry: Registry | None = None,
    ) -> None:
        self._origin = overrides_origin
        raw = section(defaults, "rules", defaults_origin)
        for rule_id, data in raw.items():  # defaults must be valid on their own
            validate(rule_id, data, defaults_origin)
        ov = overrides or {}
        unknown = set(ov) - {"rules", "kinds", "sensors"}
        if unknown:
            raise RuleError(
                f"{overrides_origin}: unknown section(s) {sorted(unknown)}; "
                "use 'rules', 'kinds' or 'sensors'"
            )
        for rule_id, patch in section(ov, "rules", overrides_origin).items():
            raw[rule_id] = merge(raw.get(rule_id), patch, overrides_origin)
        self._raw = raw
        self.site: dict[str, Rule] = {
            rid: validate(rid, data, f"{overrides_origin} (rules)") for rid, data in raw.items()
        }
        self._check_singletons(self.site, overrides_origin)
        check_inhibits(self.site, overrides_origin)
        self._kind_patches: dict[Kind, dict[str, Any]] = {}
        for kind_name, patches in section(ov, "kinds", overrides_origin).items():
            try:
                kind = Kind(kind_name)
            except ValueError:
                raise RuleError(f"{overrides_origin}: kinds: unknown kind {kind_name!r}") from None
            self._kind_patches[kind] = self._patches(patches, f"kinds.{kind_name}")
        self._sensor_patches = {
            sid: self._patches(p, f"sensors.{sid}")
            for sid, p in section(ov, "sensors", overrides_origin).items()
        }
        self._registry_patches: dict[str, dict[str, Any]] = {}  # the live registry's `rules`
        self._cache: dict[tuple[Kind, str | None], dict[str, Rule]] = {}
        for kind in Kind:  # validate every kind's rules now, not at the first reading
            self.for_sensor("", kind)
        if registry is not None:
            for sid in self._sensor_patches:
                placement = registry.get(sid)
                if placement is None:
                    raise RuleError(f"{overrides_origin}: sensors: no sensor {sid!r} in the site")
                self.for_sensor(sid, placement.sensor.kind)

    def _patches(self, patches: Any, where: str) -> dict[str, Any]:
        if not isinstance(patches, Mapping):
            raise RuleError(f"{self._origin}: {where}: must map rule ids to patches")
        for rule_id in patches:
            if rule_id not in self._raw:
                raise RuleError(f"{self._origin}: {where}: no rule {rule_id!r} to override")
            if isinstance(self.site[rule_id], CommunitySilentRule):
                raise RuleError(f"{self._origin}: {where}: {rule_id} can only be set site-wide")
        return dict(patches)

    @staticmethod
    def _check_singletons(rules: Mapping[str, Rule], origin: str) -> None:
        for rule_type in SINGLETON_TYPES:
            ids = [rid for rid, r in rules.items() if r.type == rule_type]
            if len(ids) > 1:
                raise RuleError(f"{origin}: only one rule of type {rule_type!r}, found {ids}")

    def follow(self, registry: Registry) -> None:
        """Take the registry's per-sensor patches (each sensor's `rules`, over the rules file's
        `sensors:`): the sensors whose patches changed are compiled again (the engine's
        `follow` then moves them onto their new rules). RuleError, the book unchanged, when
        one cannot be used."""
        new = {p.sensor.id: dict(p.sensor.rules) for p in registry.placements.values()}
        new = {sid: patch for sid, patch in new.items() if patch}
        changed = {
            sid
            for sid in new.keys() | self._registry_patches.keys()
            if new.get(sid) != self._registry_patches.get(sid)
        }
        if not changed:
            return
        for sid in changed & new.keys():
            self._patches(new[sid], f"registry sensors.{sid}.rules")
        old, cache = self._registry_patches, dict(self._cache)
        self._registry_patches = new
        for key in [k for k in self._cache if k[1] in changed]:
            del self._cache[key]
        try:
            for sid in changed & new.keys():
                p = registry.get(sid)
                if p is not None:
                    self.for_sensor(sid, p.sensor.kind)
        except RuleError:
            self._registry_patches, self._cache = old, cache
            raise

    def check_sensor_rules(self, sensor_id: str, kind: Kind, patches: Mapping[str, Any]) -> None:
        """RuleError unless `patches` (a sensor's `rules` in the registry) can be used."""
        self._patches(patches, f"sensors.{sensor_id}.rules")
        saved = self._registry_patches.get(sensor_id)
        self._registry_patches[sensor_id] = dict(patches)
        try:
            self._compile(sensor_id, kind)
        finally:
            if saved is None:
                del self._registry_patches[sensor_id]
            else:
                self._registry_patches[sensor_id] = saved

    def for_sensor(self, sensor_id: str, kind: Kind) -> dict[str, Rule]:
        """The enabled rules that apply to one sensor of `kind`, with every override merged."""
        own = sensor_id in self._sensor_patches or sensor_id in self._registry_patches
        key = (kind, sensor_id if own else None)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        out = self._cache[key] = self._compile(sensor_id if own else None, kind)
        return out

    def _compile(self, sensor_id: str | None, kind: Kind) -> dict[str, Rule]:
        kind_patch = self._kind_patches.get(kind, {})
        sensor_patch: dict[str, Any] = {}
        if sensor_id is not None:
            sensor_patch = merge(
                self._sensor_patches.get(sensor_id, {}),
                self._registry_patches.get(sensor_id, {}),
                self._origin,
            )
        out: dict[str, Rule] = {}
        for rid, rule in self.site.items():
            if not applies(rule, kind):
                if rid in kind_patch or rid in sensor_patch:
                    where = f"sensors.{sensor_id}" if rid in sensor_patch else f"kinds.{kind}"
                    raise RuleError(f"{self._origin}: {where}: rule {rid} does not apply to {kind}")
                continue
            if rid in kind_patch or rid in sensor_patch:
                data = merge(self._raw[rid], kind_patch.get(rid, {}), self._origin)
                data = merge(data, sensor_patch.get(rid, {}), self._origin)
                where = f"sensors.{sensor_id}" if rid in sensor_patch else f"kinds.{kind}"
                rule = validate(rid, data, f"{self._origin} ({where})")
            if rule.enabled:
                out[rid] = rule
        if sensor_patch or kind_patch:
            check_inhibits({**self.site, **out}, self._origin)
        return out

    def community_rule(self) -> tuple[str, CommunitySilentRule] | None:
        for rid, rule in self.site.items():
            if isinstance(rule, CommunitySilentRule) and rule.enabled:
                return rid, rule
        return None

    def thresholds(self) -> dict[str, ThresholdRule]:
        """The site-wide threshold rules (for documentation and the API)."""
        return {rid: r for rid, r in self.site.items() if isinstance(r, ThresholdRule)}


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RuleError(f"{path}: cannot read the rules file: {e.strerror}") from e
    try:
        return yaml.load(text, Loader=_Loader) or {}  # noqa: S506  (a safe loader)
    except yaml.YAMLError as e:
        raise RuleError(f"{path}: not valid YAML: {e}") from e


def default_rules_text() -> str:
    """The shipped, commented defaults (domain.md §2)."""
    return resources.files("services.rules").joinpath("defaults.yaml").read_text(encoding="utf-8")


def load_rules(
    overrides: str | Path | None = None,
    *,
    registry: Registry | None = None,
    defaults: str | Path | None = None,
) -> RuleBook:
    """The shipped defaults (or `defaults`), with a site's override file merged on top."""
    if defaults is None:
        default_data = yaml.load(default_rules_text(), Loader=_Loader)  # noqa: S506  (safe)
        default_origin = "services/rules/defaults.yaml"
    else:
        default_data = _read_yaml(Path(defaults))
        default_origin = str(defaults)
    if not isinstance(default_data, Mapping):
        raise RuleError(f"{default_origin}: must be a mapping with 'rules'")
    override_data = None
    if overrides is not None:
        override_data = _read_yaml(Path(overrides))
        if not isinstance(override_data, Mapping):
            raise RuleError(f"{overrides}: must be a mapping with 'rules', 'kinds' or 'sensors'")
    return RuleBook(
        default_data,
        override_data,
        defaults_origin=default_origin,
        overrides_origin=str(overrides) if overrides is not None else "<overrides>",
        registry=registry,
    )
