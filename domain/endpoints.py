"""Where the hub's services are and how an address is shown: the local defaults, the MQTT URL
split into what a client needs, and a URL with its password masked for logs and output."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
DEFAULT_INFLUX_URL = "http://127.0.0.1:8086"
DEFAULT_DB_URL = "sqlite:///./var/gridwatch.db"
MASK = "**********"


class MqttEndpoint:
    """`mqtt://user:pass@host:port` split into what paho needs."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"MQTT URL must start with mqtt:// (got {masked_url(url)!r})")
        if not parts.hostname:
            raise ValueError(f"MQTT URL names no host: {masked_url(url)!r}")
        self.host = parts.hostname
        self.port = parts.port or 1883
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None


def masked_url(url: str) -> str:
    """`url` with the password of its user part replaced by the mask, for logs and output."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{MASK}@{host}"))
