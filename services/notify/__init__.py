"""Telling crews: ticket notices to MQTT (`gridwatch/tickets/{grid}`) and signed webhooks.

Only opened, escalated (severity or to the supervisor), recovered and resolved are sent; the
ticket service decides that (services.tickets.schemas.NOTIFIED), this package delivers.
"""
