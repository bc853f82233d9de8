"""The pieces of a Grafana board as JSON (schema 39): the InfluxDB datasource, template
variables, InfluxQL targets, time-series panels with threshold steps, and the board around
them; dashboards/grafana/build.py composes GridWatch's boards from them."""

from __future__ import annotations

from typing import Any

from domain.catalog import Kind, Metric

DS = {"type": "influxdb", "uid": "gridwatch-influx"}
TZ = "Asia/Shanghai"
UNITS = {"Cel": "celsius", "%": "percent", "V": "volt", "A": "amp", "Hz": "hertz", "m": "lengthm"}


def sensor_var(kind: Kind) -> dict[str, Any]:
    return {
        "name": "sensor",
        "label": "传感器 sensor",
        "type": "query",
        "datasource": DS,
        "query": f'SHOW TAG VALUES FROM "{kind.value}" WITH KEY = "sensor"',
        "multi": True,
        "includeAll": True,
        "refresh": 2,
        "current": {"text": "All", "value": "$__all"},
    }


TZ_VAR = {"name": "tz", "type": "constant", "query": TZ, "hide": 2}


def target(query: str, ref: str = "A", alias: str = "$tag_sensor") -> dict[str, Any]:
    return {
        "refId": ref,
        "datasource": DS,
        "rawQuery": True,
        "resultFormat": "time_series",
        "query": query,
        "alias": alias,
    }


def thresholds(steps: list[tuple[float | None, str]]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


def timeseries(
    pid: int,
    title: str,
    targets: list[dict[str, Any]],
    unit: str = "",
    steps: list[tuple[float | None, str]] | None = None,
    style: str = "line+area",
    grid: tuple[int, int, int, int] = (0, 0, 12, 8),
    description: str = "",
) -> dict[str, Any]:
    x, y, w, h = grid
    custom: dict[str, Any] = {"lineWidth": 1, "spanNulls": False}
    if steps:
        custom["thresholdsStyle"] = {"mode": style}
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "custom": custom,
                "thresholds": thresholds(steps or [(None, "green")]),
            },
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
    }


def metric_query(kind: Kind, field: str, func: str = "mean") -> str:
    return (
        f'SELECT {func}("{field}") FROM "{kind.value}" '  # noqa: S608 - names from the catalog
        f'WHERE "sensor" =~ /^$sensor$/ AND $timeFilter '
        f'GROUP BY time($__interval), "sensor" fill(none)'
    )


def title(m: Metric) -> str:
    unit = f" ({m.shown_unit})" if m.shown_unit and m.shown_unit != "/" else ""
    return f"{m.label_zh} {m.label_en}{unit}"


def dashboard(
    uid: str, name: str, panels: list[dict[str, Any]], variables: list[Any]
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": name,
        "tags": ["gridwatch"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": variables},
        "panels": panels,
    }
