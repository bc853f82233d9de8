"""A rule book with one rule switched on: the site's effective rules (defaults + the site's
override file), a patch on top in the override format of services.rules.book, everything else
off — except the rules linked to it by precedence (`inhibits:` either way), which stay as the
site has them, so the dry-run shows what the rule would have inhibited or been folded into.
Rules judged on the hub's clock or on rejected input cannot be replayed from stored data.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from services.rules.book import RuleBook, default_rules_text
from services.rules.overrides import RuleError

NOT_REPLAYABLE = {
    "offline": "judged on the hub's clock, not on stored readings",
    "community_silent": "judged on the hub's clock, not on stored readings",
    "implausible": "judged on rejected values, which InfluxDB does not keep",
}


class DryRunError(ValueError):
    """A dry-run that cannot be run as asked; the message says what to change."""


def _combine(base: Any, patch: Any) -> Any:
    """Deep-merge two patches: mappings merge, anything else is replaced."""
    if not isinstance(patch, Mapping) or not isinstance(base, Mapping):
        return copy.deepcopy(patch)
    out = dict(base)
    for k, v in patch.items():
        out[k] = _combine(base.get(k), v)
    return out


def parse_sets(sets: Sequence[str]) -> dict[str, Any]:
    """`["warning.value=2.5", "for=30min"]` -> `{"warning": {"value": 2.5}, "for": "30min"}`;
    values are read as YAML scalars (numbers, booleans, strings)."""
    patch: dict[str, Any] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise DryRunError(f"--set {item!r}: write key=value, e.g. warning.value=2.5")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = patch
        parts = key.strip().split(".")
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise DryRunError(f"--set {item!r}: {part} is already a value")
            node = nxt
        node[parts[-1]] = value
    return patch


def _read(path: str | Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise DryRunError(f"{path}: cannot read the rules file: {e}") from None
    if not isinstance(data, Mapping):
        raise DryRunError(f"{path}: must be a mapping with 'rules', 'kinds' or 'sensors'")
    return dict(data)


def _related(rule_id: str, *books: Mapping[str, Any]) -> set[str]:
    """`rule_id`, the rules it inhibits and the rules that inhibit it (defaults and site)."""
    out = {rule_id}
    for book in books:
        for rid, data in book.items():
            inhibits = data.get("inhibits") if isinstance(data, Mapping) else None
            if not isinstance(inhibits, list):
                continue
            if rid == rule_id:
                out.update(str(t) for t in inhibits)
            elif rule_id in inhibits:
                out.add(rid)
    return out


def single_rule_book(
    rule_id: str, patch: Mapping[str, Any] | None = None, overrides: str | Path | None = None
) -> RuleBook:
    """The effective rules with only `rule_id` enabled, `patch` merged onto it site-wide."""
    defaults = yaml.safe_load(default_rules_text())
    site = _read(overrides)
    rules = dict(site.get("rules") or {})
    every = set(defaults.get("rules") or {}) | set(rules)
    if rule_id not in every:
        raise DryRunError(f"no rule {rule_id!r}; see services/rules/defaults.yaml")
    for rid in every - _related(rule_id, defaults.get("rules") or {}, rules):
        rules[rid] = _combine(rules.get(rid), {"enabled": False})
    rules[rule_id] = _combine(_combine(rules.get(rule_id), patch or {}), {"enabled": True})
    narrowed: dict[str, Any] = {"rules": rules}
    for section in ("kinds", "sensors"):
        entries = site.get(section) or {}
        if isinstance(entries, Mapping):
            narrowed[section] = {
                k: {rule_id: v[rule_id]}
                for k, v in entries.items()
                if isinstance(v, Mapping) and rule_id in v
            }
    try:
        book = RuleBook(defaults, narrowed, overrides_origin=str(overrides or "<dry-run>"))
    except RuleError as e:
        raise DryRunError(str(e)) from None
    rule = book.site[rule_id]
    if rule.type in NOT_REPLAYABLE:
        raise DryRunError(f"{rule_id} cannot be dry-run: {NOT_REPLAYABLE[rule.type]}")
    return book
