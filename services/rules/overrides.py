"""The override format's parts (services.rules.book): a rule validated from data, a patch merged
onto a rule field by field — a changed limit without a source of its own turns `site` — and
the check across a book's rules (`inhibits:`). Every problem is a `RuleError` naming the file,
the rule and the field.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain.catalog import Kind
from services.rules.spec import (
    RULE_ID_PATTERN,
    CommunitySilentRule,
    GradeRule,
    Rule,
    ThresholdRule,
)

_RULE: TypeAdapter[Rule] = TypeAdapter(Rule)
_LIMIT_KEYS = frozenset(
    {"op", "value", "band", "drop", "within", "warning_ratio", "critical_ratio"}
)
_SITE_SOURCE = "本站设定 / site setting"


class RuleError(ValueError):
    """A rules file that cannot be used; the message names the file, the rule and the field."""


def _where(loc: tuple[int | str, ...], rule_type: object) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == rule_type:  # pydantic puts the union's tag first
        parts = parts[1:]
    return f"field '{'.'.join(parts)}'" if parts else "the rule"


def validate(rule_id: str, data: Any, origin: str) -> Rule:
    if not re.match(RULE_ID_PATTERN, rule_id):
        raise RuleError(f"{origin}: rule {rule_id!r}: the id must look like 'kind.name'")
    if not isinstance(data, Mapping):
        raise RuleError(f"{origin}: rule {rule_id}: must be a mapping of fields")
    try:
        return _RULE.validate_python(data)
    except ValidationError as e:
        problems = [
            f"{origin}: rule {rule_id}: {_where(tuple(err['loc']), data.get('type'))}: {err['msg']}"
            for err in e.errors()
        ]
        raise RuleError("\n".join(problems)) from None


def merge(base: Any, patch: Any, origin: str) -> Any:
    """Deep-merge `patch` onto `base`; maps merge, anything else is replaced."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    if not isinstance(base, Mapping):
        return {k: merge(None, v, origin) for k, v in patch.items()}
    out = dict(base)
    for key, value in patch.items():
        out[key] = merge(base.get(key), value, origin)
    if "provenance" in base and "provenance" not in patch and _LIMIT_KEYS & patch.keys():
        out["provenance"] = "site"
        out["source"] = patch.get("source", f"{_SITE_SOURCE} ({origin})")
        out["limit_zh"] = patch.get("limit_zh", "")
        out["limit_en"] = patch.get("limit_en", "")
    return out


def applies(rule: Rule, kind: Kind) -> bool:
    if isinstance(rule, CommunitySilentRule):
        return False
    target = getattr(rule, "kind", "any")
    return bool(target == "any" or target == kind)


def section(data: Mapping[str, Any], key: str, origin: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise RuleError(f"{origin}: '{key}' must be a mapping")
    return dict(value)


def check_inhibits(rules: Mapping[str, Rule], origin: str) -> None:
    """`inhibits:` names rules derived from the inhibiting rule's own metric: a grade with
    that indicator, or a threshold on that metric; never itself, never each other."""
    for rid, rule in rules.items():
        if not isinstance(rule, ThresholdRule):
            continue
        for target in rule.inhibits:
            where = f"{origin}: rule {rid}: inhibits {target!r}"
            other = rules.get(target)
            if target == rid or other is None:
                raise RuleError(f"{where}: name another rule of the book")
            if isinstance(other, GradeRule):
                if rule.metric not in other.indicators:
                    raise RuleError(f"{where}: that grade has no indicator {rule.metric!r}")
            elif isinstance(other, ThresholdRule):
                if other.metric != rule.metric:
                    raise RuleError(f"{where}: it watches {other.metric!r}, not {rule.metric!r}")
                if rid in other.inhibits:
                    raise RuleError(f"{where}: two rules cannot inhibit each other")
            else:
                raise RuleError(f"{where}: only threshold and grade rules can be inhibited")
