"""The API tests' app fixture (SQLite, test site, a token per role)."""

from tests.services.api.conftest import api

__all__ = ["api"]
