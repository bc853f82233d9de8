"""The REST API (contract §5): FastAPI under /api/v1, built by `create_app(settings)`."""
