"""Site files the simulators can run: the demo community (three real-named communities of
Chengdu's style, ~100 sensors) and synthetic fleets of any size for load tests. Both come out
as plain data that `domain.site.parse_site` accepts and that `write_site` saves as YAML, so a
gateway can load exactly the registry the simulator publishes for."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

from domain.catalog import Kind

# (id, name, supervisor, centre lat/lon, grids: (suffix, worker))
_COMMUNITIES = (
    (
        "chaoyang",
        "朝阳社区",
        ("s-001", "王建国"),
        (30.6685, 104.0520),
        (
            ("cy-g1", "朝阳1号网格", "w-011", "张伟"),
            ("cy-g2", "朝阳2号网格", "w-012", "刘洋"),
            ("cy-g3", "朝阳3号网格", "w-013", "陈静"),
        ),
    ),
    (
        "qingping",
        "清平社区",
        ("s-002", "周红"),
        (30.6548, 104.0712),
        (("qp-g1", "清平1号网格", "w-017", "李明"), ("qp-g2", "清平2号网格", "w-018", "赵敏")),
    ),
    (
        "gongkuang",
        "工矿社区",
        ("s-003", "黄志强"),
        (30.6622, 104.0835),
        (
            ("gk-g1", "工矿1号网格", "w-021", "杨帆"),
            ("gk-g2", "工矿2号网格", "w-022", "吴磊"),
            ("gk-g3", "工矿3号网格", "w-023", "孙丽"),
        ),
    ),
)

# (id part, kind, count per community, interval_s, asset label)
_LAYOUT = (
    ("pond", Kind.POND, 3, 600, "堰塘"),
    ("water-{c}-tank", Kind.WATER, 4, 300, "屋顶水箱"),
    ("water-{c}-net", Kind.WATER, 5, 300, "管网监测点"),
    ("power-{c}-tx", Kind.POWER, 4, 300, "台区箱变"),
    ("power-{c}-room", Kind.POWER, 3, 300, "配电房"),
    ("sewer-{c}-mh", Kind.SEWER, 12, 900, "污水检查井"),
    ("sewer-{c}-pw", Kind.SEWER, 2, 300, "提升泵站泵井"),
)
_SHORT = {"chaoyang": "cy", "qingping": "qp", "gongkuang": "gk"}
_POND_NAMES = "ABCDEFGH"


def _person(pid: str, name: str, n: int) -> dict[str, str]:
    return {"id": pid, "name": name, "phone": f"138-0000-{n:04d}"}


def demo_site() -> dict[str, Any]:
    """The demo site: 3 communities, 8 grid cells, 99 sensors of all four kinds."""
    rng = random.Random("gridwatch-demo")
    communities: list[dict[str, Any]] = []
    sensors: list[dict[str, Any]] = []
    for cid, cname, (sup_id, sup_name), (lat, lon), grids in _COMMUNITIES:
        c = _SHORT[cid]
        communities.append(
            {
                "id": cid,
                "name": cname,
                "supervisor": _person(sup_id, sup_name, int(sup_id[2:])),
                "grids": [
                    {"id": g, "name": gname, "worker": _person(wid, wname, int(wid[2:]))}
                    for g, gname, wid, wname in grids
                ],
            }
        )
        for part, kind, count, interval, asset in _LAYOUT:
            prefix = f"pond-{c}" if part == "pond" else part.format(c=c)
            for i in range(1, count + 1):
                grid = grids[(i - 1) % len(grids)][0]
                label = f"{asset}{_POND_NAMES[i - 1]}" if kind is Kind.POND else f"{asset}{i}号"
                sensors.append(
                    {
                        "id": f"{prefix}-{i:02d}",
                        "kind": kind.value,
                        "grid": grid,
                        "asset": f"{cname}{label}",
                        "location": {
                            "lat": round(lat + rng.uniform(-0.004, 0.004), 6),
                            "lon": round(lon + rng.uniform(-0.005, 0.005), 6),
                        },
                        "interval_s": interval,
                    }
                )
    return {"timezone": "Asia/Shanghai", "communities": communities, "sensors": sensors}


def synthetic_site(count: int, interval_s: int = 60, seed: int = 0) -> dict[str, Any]:
    """`count` sensors spread over the four kinds in 10 communities of 10 grid cells, for
    load tests (`gridwatch simulate --sensors N`)."""
    rng = random.Random(f"synthetic:{seed}")
    kinds = list(Kind)
    communities = [
        {
            "id": f"load-c{ci:02d}",
            "name": f"负载社区{ci}",
            "supervisor": _person(f"load-s{ci:02d}", f"主任{ci}", ci),
            "grids": [
                {
                    "id": f"load-c{ci:02d}-g{gi:02d}",
                    "name": f"网格{ci}-{gi}",
                    "worker": _person(f"load-w{ci:02d}{gi:02d}", f"网格员{ci}-{gi}", ci * 100 + gi),
                }
                for gi in range(10)
            ],
        }
        for ci in range(10)
    ]
    sensors = [
        {
            "id": f"load-{kinds[i % 4].value}-{i:06d}",
            "kind": kinds[i % 4].value,
            "grid": f"load-c{(i // 10) % 10:02d}-g{i % 10:02d}",
            "location": {
                "lat": round(30.66 + rng.uniform(-0.03, 0.03), 6),
                "lon": round(104.06 + rng.uniform(-0.03, 0.03), 6),
            },
            "interval_s": interval_s,
        }
        for i in range(count)
    ]
    return {"timezone": "Asia/Shanghai", "communities": communities, "sensors": sensors}


def write_site(data: dict[str, Any], path: str | Path, header: str = "") -> None:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    Path(path).write_text(comment + text, encoding="utf-8")
