"""What the API's lifespan owns and every request uses: one typed object, no globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from domain.site import Registry
from services.api.events import EventHub
from services.api.readings import LastReadings
from services.api.settings import ApiSettings
from services.auth.tokens import TokenStore
from services.db.rejections import RejectionStore
from services.notify.dispatcher import Dispatcher
from services.tickets.service import TicketService
from services.trends.service import Trends


@dataclass(slots=True)
class Hub:
    settings: ApiSettings
    engine: Engine
    registry: Registry
    tickets: TicketService
    tokens: TokenStore
    rejections: RejectionStore
    dispatcher: Dispatcher
    readings: LastReadings
    metrics: CollectorRegistry
    trends: Trends | None = None  # None without InfluxDB: trend routes answer 503
    events: EventHub | None = None  # the dashboard's live stream
    ingest_health: Callable[[], dict[str, Any] | None] | None = None  # gateway in this process
