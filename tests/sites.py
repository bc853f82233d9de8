"""The small site most tests start from: the Qingping community (supervisor 周红) with its grid
cell qp-g1 (worker 李明) and, where a test needs a second, qp-g2 (worker 王芳)."""

from __future__ import annotations

from typing import Any

from domain.site import Site, parse_site


def qingping(sensors: list[dict[str, Any]], *, grids: int = 1) -> dict[str, Any]:
    """The site document of Qingping's first `grids` grid cells (1 or 2) holding `sensors`."""
    cells = [
        {"id": "qp-g1", "name": "清平1号网格", "worker": {"id": "w-017", "name": "李明"}},
        {"id": "qp-g2", "name": "清平2号网格", "worker": {"id": "w-018", "name": "王芳"}},
    ]
    return {
        "communities": [
            {
                "id": "qingping",
                "name": "清平社区",
                "supervisor": {"id": "s-003", "name": "周红"},
                "grids": cells[:grids],
            }
        ],
        "sensors": sensors,
    }


def qingping_site(sensors: list[dict[str, Any]], *, grids: int = 1) -> Site:
    """`qingping(...)`, parsed."""
    return parse_site(qingping(sensors, grids=grids))
