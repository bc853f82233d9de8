"""The officers' sanitation report: pond grades and classes, compliance rates, sewer events,
tickets and data completeness over a period, as one self-contained HTML file (inline SVG) and
a PDF where a headless browser can print one (issue 7)."""

from services.reports.data import ReportData, TicketStats, collect, ticket_stats
from services.reports.html import render
from services.reports.pdf import PdfUnavailable, find_browser, to_pdf

__all__ = [
    "PdfUnavailable",
    "ReportData",
    "TicketStats",
    "collect",
    "find_browser",
    "render",
    "ticket_stats",
    "to_pdf",
]
