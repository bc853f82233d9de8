"""Maintenance windows: a crew marks a sensor under maintenance for a period; the rules raise
no new tickets for it meanwhile, and the tickets' timelines say so (issue 7)."""

from services.maintenance.store import (
    MaintenanceError,
    MaintenanceStore,
    Window,
    WindowNotFound,
)
from services.maintenance.watch import MaintenanceWatch

__all__ = [
    "MaintenanceError",
    "MaintenanceStore",
    "MaintenanceWatch",
    "Window",
    "WindowNotFound",
]
