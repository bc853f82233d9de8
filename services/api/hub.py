"""What the API's lifespan owns and every request uses: one typed object, no globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from domain.settings import Settings
from domain.site import Registry
from services.api.events import EventHub
from services.api.ratelimit import RateLimit
from services.api.readings import LastReadings
from services.auth.links import SignInLinks
from services.auth.tokens import TokenStore
from services.db.rejections import RejectionStore
from services.notify.dispatcher import Dispatcher
from services.notify.notifier import Notifier
from services.photos.store import PhotoStore
from services.registry.logins import DeviceLogins
from services.registry.store import RegistryStore
from services.registry.watcher import RegistryWatcher
from services.residents.reports import ResidentReports
from services.rules.book import RuleBook
from services.tickets.service import TicketService
from services.trends.service import Trends


@dataclass(slots=True)
class Hub:
    settings: Settings
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
    comments: RateLimit = field(default_factory=RateLimit)  # per person (token name)
    notifier: Notifier | None = None  # the channel workers of this process
    photos: PhotoStore | None = None  # built by the app from the settings (field.*)
    links: SignInLinks | None = None
    residents: ResidentReports | None = None
    resident_limits: tuple[RateLimit, RateLimit] | None = None  # per client, per sensor

    @property
    def resident_reports(self) -> ResidentReports:
        if self.residents is None:
            self.residents = ResidentReports(self.engine, self.registry, self.photo_store)
        return self.residents

    def _resident_limits(self) -> tuple[RateLimit, RateLimit]:
        if self.resident_limits is None:
            f = self.settings.field
            self.resident_limits = (
                RateLimit("reports from this address", f.resident_reports_per_client, 3600.0),
                RateLimit("reports for this asset", f.resident_reports_per_sensor, 3600.0),
            )
        return self.resident_limits

    @property
    def resident_clients(self) -> RateLimit:
        return self._resident_limits()[0]

    @property
    def resident_sensors(self) -> RateLimit:
        return self._resident_limits()[1]

    @property
    def sign_in_links(self) -> SignInLinks:
        if self.links is None:
            self.links = SignInLinks(self.engine)
        return self.links

    @property
    def photo_store(self) -> PhotoStore:
        if self.photos is None:
            self.photos = PhotoStore(
                self.engine,
                budget_bytes=self.settings.field.photo_ticket_budget_bytes,
                max_side=self.settings.field.photo_max_side_px,
            )
        return self.photos

    store: RegistryStore | None = None  # the live registry's tables
    watcher: RegistryWatcher | None = None  # keeps `registry` at the committed version
    logins: DeviceLogins | None = None  # device broker logins (None: a static broker)
    login_failures: int = 0  # broker logins that could not be set after a registry change
    rule_book: RuleBook | None = None  # checks sensors' rule patches (loaded on first need)
