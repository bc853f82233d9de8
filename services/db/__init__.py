"""The hub's SQL store: tickets, their timelines, API tokens, rejections and rule state.

One database (a SQLite file by default, PostgreSQL by URL) shared by every hub process; the
schema is owned by the Alembic migrations in `migrations/`, applied at start.
"""
