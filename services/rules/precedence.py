"""Precedence between rules (`inhibits:` in the rule book): one problem, one ticket.

A grade derived from an indicator (the black-odorous grade graded from DO) says nothing a crew
does not already know while the indicator's own rule (pond.low_oxygen) has a ticket for the
same readings: Alertmanager's inhibition. Per reading, after every rule has spoken, a breach
of an inhibited rule driven by metric M (`Breach.metric`) at a sensor where a rule inhibiting
it on M is

- active: becomes an INHIBITED breach of that rule, naming the inhibited one (a note on that
  rule's ticket, "also meets 轻度黑臭 by DO") when it raises or escalates, or the first time
  it meets that rule; its HOLDING updates are dropped;
- pending (its condition holds but not yet for its `for`): held back, so the more specific
  ticket opens first and the derived one is folded into it when it does — whichever rule's
  `for` runs out first, the indicator's ticket is the one that opens;
- neither: passed on, as a RAISED if it had been held or folded, so a grade that outlives
  its indicator's condition (another indicator took over) gets its own ticket.

A held or folded episode's CLEARED is dropped (there is no ticket to recover). An episode that
opened its own ticket (no inhibiting rule was pending or active then) keeps it to the end: with
the shipped defaults that cannot happen, because each inhibiting rule's limit contains the
grade's and its `for` is no longer; a site override that narrows an indicator's own limit
makes it possible, and then the two tickets stand.

The latch of the inhibited rule remembers the episode's fate in `folded`: None (its own
ticket, or nothing yet), HELD, or the id of the rule it was folded into.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from domain.breach import Breach, Change
from services.rules.spec import Rule, ThresholdRule

HELD = "~"  # `folded` of an episode held back while the inhibiting rule is pending


class Precedence:
    """The `inhibits:` of one plan, compiled: target rule id -> metric -> inhibiting slots."""

    __slots__ = ("by_target",)

    def __init__(self, rules: Mapping[str, Rule], slot_of: Mapping[str, int]) -> None:
        by_target: dict[str, dict[str, list[tuple[str, int]]]] = {}
        for rid, rule in rules.items():
            if not isinstance(rule, ThresholdRule) or rid not in slot_of:
                continue
            for target in rule.inhibits:
                if target in slot_of:
                    metrics = by_target.setdefault(target, {})
                    metrics.setdefault(rule.metric, []).append((rid, slot_of[rid]))
        self.by_target = {
            t: (slot_of[t], {m: tuple(srcs) for m, srcs in ms.items()})
            for t, ms in by_target.items()
        }

    def __bool__(self) -> bool:
        return bool(self.by_target)

    def apply(self, out: list[Breach], states: list[Any]) -> list[Breach]:
        """`out` (one reading's breaches, in the order the rules gave them) with precedence
        applied; `states` are the sensor's rule states by slot."""
        if not any(b.rule in self.by_target for b in out):
            return out
        kept: list[Breach] = []
        for b in out:
            entry = self.by_target.get(b.rule)
            if entry is None:
                kept.append(b)
                continue
            slot, sources = entry
            st = states[slot]
            b2 = self._one(b, st, sources.get(b.metric or "", ()), states)
            if b2 is not None:
                kept.append(b2)
        return kept

    @staticmethod
    def _one(
        b: Breach, st: Any, sources: tuple[tuple[str, int], ...], states: list[Any]
    ) -> Breach | None:
        folded = st.folded
        if b.change is Change.CLEARED:
            if folded is None:
                return b
            st.folded = None
            st.dirty = True
            return None  # nothing was opened, nothing recovers
        if folded is None and b.change is not Change.RAISED:
            return b  # this episode has its own ticket: it keeps it
        active = next(
            (rid for rid, i in sources if states[i] is not None and states[i].active), None
        )
        if active is not None:
            if folded == active and b.change is Change.HOLDING:
                return None
            st.folded = active
            st.dirty = True
            return replace(b, rule=active, change=Change.INHIBITED, inhibited=b.rule)
        if any(states[i] is not None and states[i].pending_since is not None for _, i in sources):
            if folded != HELD:
                st.folded = HELD
                st.dirty = True
            return None
        if folded is None:
            return b
        st.folded = None
        st.dirty = True
        return replace(b, change=Change.RAISED)
