"""Rule dry-run: one rule, possibly with changed limits, over past readings in InfluxDB, and the
tickets it would have opened, without touching the ticket database (issue 7)."""

from services.dryrun.book import DryRunError, parse_sets, single_rule_book
from services.dryrun.process import DryRunBusy, DryRunFailed, DryRunTooLong, dry_run_isolated
from services.dryrun.runner import DryRun, DryRunResult, DryTicket, Scope, dry_run

__all__ = [
    "DryRun",
    "DryRunBusy",
    "DryRunError",
    "DryRunFailed",
    "DryRunResult",
    "DryRunTooLong",
    "DryTicket",
    "Scope",
    "dry_run",
    "dry_run_isolated",
    "parse_sets",
    "single_rule_book",
]
