"""The rule engine: default rules as data (defaults.yaml), site overrides, and a pure engine
that turns Measurements into Breaches on event time (domain.md §2, contract §4)."""

from services.rules.book import RuleBook, default_rules_text, load_rules
from services.rules.engine import RuleEngine
from services.rules.overrides import RuleError
from services.rules.state import MemoryRuleStateStore, RuleStateStore

__all__ = [
    "MemoryRuleStateStore",
    "RuleBook",
    "RuleEngine",
    "RuleError",
    "RuleStateStore",
    "default_rules_text",
    "load_rules",
]
