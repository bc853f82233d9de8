"""A small site for ticket and API tests: two communities, three grid cells, four sensors."""

from __future__ import annotations

from domain.breach import Breach, Change, Severity
from domain.site import Registry, parse_site

HOUR = 3600 * 10**9
T0 = 1_700_000_000 * 10**9

SITE = {
    "timezone": "Asia/Shanghai",
    "communities": [
        {
            "id": "qingping",
            "name": "清平社区",
            "supervisor": {"id": "s-003", "name": "周红"},
            "grids": [
                {"id": "qp-g1", "name": "清平1号网格", "worker": {"id": "w-017", "name": "李明"}},
                {"id": "qp-g2", "name": "清平2号网格", "worker": {"id": "w-018", "name": "王芳"}},
            ],
        },
        {
            "id": "hexi",
            "name": "河西社区",
            "supervisor": {"id": "s-009", "name": "陈刚"},
            "grids": [
                {"id": "hx-g1", "name": "河西1号网格", "worker": {"id": "w-031", "name": "张伟"}}
            ],
        },
    ],
    "sensors": [
        {"id": "pond-qp-01", "kind": "pond", "grid": "qp-g1", "asset": "堰塘A"},
        {"id": "water-qp-01", "kind": "water", "grid": "qp-g1", "asset": "3栋水箱"},
        {"id": "power-qp-02", "kind": "power", "grid": "qp-g2", "asset": "2号台区"},
        {"id": "sewer-hx-01", "kind": "sewer", "grid": "hx-g1", "asset": "W12 检查井"},
    ],
}


def registry() -> Registry:
    return Registry(parse_site(SITE))


def low_do(
    change: Change,
    at: int,
    value: float = 1.5,
    severity: Severity = Severity.CRITICAL,
    since: int = T0,
    sensor: str = "pond-qp-01",
) -> Breach:
    """A dissolved-oxygen breach as the rule engine would send it."""
    return Breach(
        sensor=sensor,
        rule="pond.low_oxygen",
        change=change,
        severity=severity,
        since_ns=since,
        at_ns=at,
        metric="do",
        value=value,
        threshold=2.0 if severity is Severity.CRITICAL else 3.0,
        comparison="below",
        limit_zh="轻度黑臭" if severity is Severity.CRITICAL else "劣于IV类",
        limit_en="light black-odorous" if severity is Severity.CRITICAL else "worse than class IV",
        source="城市黑臭水体整治工作指南",
        provenance="S",
    )
