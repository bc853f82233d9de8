"""Prometheus metrics of the API process, read from the services' own counters at scrape time
(a custom collector on a per-app registry: no global state)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.api.hub import Hub
from services.db.models import DeliveryFailure, OutboxRow, Ticket


class HubCollector(Collector):
    def __init__(self, hub: Callable[[], Hub | None]) -> None:
        self._hub = hub

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        hub = self._hub()
        if hub is None:
            return
        events = CounterMetricFamily(
            "gridwatch_ticket_events", "Ticket events made by this process", labels=["event"]
        )
        for event, n in sorted(hub.tickets.counters.by_event.items()):
            events.add_metric([event], n)
        yield events
        yield CounterMetricFamily(
            "gridwatch_notifications_dropped",
            "Notices dropped because the queue was full",
            value=hub.dispatcher.dropped,
        )
        for c in hub.dispatcher.channels:
            for what in ("sent", "failed"):
                yield CounterMetricFamily(
                    f"gridwatch_notify_{c.name}_{what}",
                    f"Notices {what} on the {c.name} channel",
                    value=int(getattr(c, what, 0)),
                )
        notifier = hub.notifier
        if notifier is not None:
            attempts = CounterMetricFamily(
                "gridwatch_notify_attempts",
                "Delivery attempts (messages) by this process, by channel type and outcome",
                labels=["type", "outcome"],
            )
            for (kind, outcome), count in sorted(notifier.attempts.items()):
                attempts.add_metric([kind, outcome], count)
            yield attempts
            notices = CounterMetricFamily(
                "gridwatch_notify_notices",
                "Notices in those attempts (a grouped message carries several)",
                labels=["type", "outcome"],
            )
            for (kind, outcome), count in sorted(notifier.notices.items()):
                notices.add_metric([kind, outcome], count)
            yield notices
        yield GaugeMetricFamily(
            "gridwatch_registry_version",
            "The site registry's version this process serves",
            value=hub.registry.version,
        )
        yield CounterMetricFamily(
            "gridwatch_registry_login_failures",
            "Device broker logins that could not be set after a registry change",
            value=hub.login_failures,
        )
        r = hub.rejections
        yield CounterMetricFamily(
            "gridwatch_rejections_dropped",
            "Rejections not stored (buffer overflow)",
            value=r.dropped,
        )
        with Session(hub.engine) as s:
            active = GaugeMetricFamily(
                "gridwatch_tickets_active", "Active tickets", labels=["status", "severity"]
            )
            rows = s.execute(
                select(Ticket.status, Ticket.severity, func.count())
                .where(Ticket.status != "resolved")
                .group_by(Ticket.status, Ticket.severity)
            ).all()
            for st, sev, n in rows:
                active.add_metric([st, sev], n)
            yield active
            yield GaugeMetricFamily(
                "gridwatch_webhook_failures",
                "Webhook deliveries that failed after every retry (table delivery_failures)",
                value=s.scalar(select(func.count()).select_from(DeliveryFailure)) or 0,
            )
            outbox = GaugeMetricFamily(
                "gridwatch_notify_outbox",
                "Notices in the outbox by channel and status (pending, sent, failed)",
                labels=["channel", "status"],
            )
            for channel, status, count in s.execute(
                select(OutboxRow.channel, OutboxRow.status, func.count()).group_by(
                    OutboxRow.channel, OutboxRow.status
                )
            ).all():
                outbox.add_metric([channel, status], count)
            yield outbox


def registry_for(hub: Callable[[], Hub | None]) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(HubCollector(hub))
    return reg
