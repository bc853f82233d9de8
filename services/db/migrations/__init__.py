"""Alembic migrations of the hub database (shipped as package data, applied at start)."""
