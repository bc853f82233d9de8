"""Generate GridWatch's Grafana dashboards (dashboards/*.json) from the metric catalog and the
standards' tables, so panels, units and limit lines never drift from the code.

    .venv/bin/python dashboards/grafana/build.py        # rewrites dashboards/*.json

Panels use InfluxQL with Grafana's macros ($timeFilter, $__interval) and template variables
($sensor, a multi-value tag query; $tz, the site's time zone for daily buckets).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapters.influx.retention import Layout
from dashboards.grafana.panels import (
    DS,
    TZ_VAR,
    UNITS,
    dashboard,
    metric_query,
    sensor_var,
    target,
    timeseries,
    title,
)
from domain.catalog import CATALOG, HEALTH, Kind
from services.trends.standards import GB3838_DO_MIN, GB3838_NH3N_MAX, standards

REF = standards()
BLACK_ODOROUS = REF.black_odorous
SEWER_EVENTS = REF.sewer_events
CHLORINE_COMPLIANT = REF.chlorine_compliant
CHLORINE_WARNING_MIN = REF.chlorine_warning_min
VOLTAGE_QUALIFIED = REF.voltage_qualified

OUT = Path(__file__).parent / "dashboards"
ROLLUP_RP = Layout().rollup_rp
"""The retention policy ensure_retention rolls raw readings up into."""

KIND_NAMES = {
    Kind.POND: "堰塘 Ponds",
    Kind.WATER: "供水 Water supply",
    Kind.POWER: "配电 Power distribution",
    Kind.SEWER: "排水 Sewer network",
}


MAINS_POWERED = frozenset({Kind.POWER})
"""Kinds whose devices run off the mains and report no battery (the simulators model them so):
a battery panel on their board would stay empty."""


def kind_dashboard(kind: Kind) -> dict[str, Any]:
    health = [m for m in HEALTH.values() if not (kind in MAINS_POWERED and m.name == "battery_v")]
    metrics = [*CATALOG[kind].values(), *health]
    panels = []
    for i, m in enumerate(metrics):
        grid = ((i % 2) * 12, (i // 2) * 8, 12, 8)
        panels.append(
            timeseries(
                i + 1,
                title(m),
                [target(metric_query(kind, m.name))],
                UNITS.get(m.unit, ""),
                grid=grid,
            )
        )
    return dashboard(
        f"gridwatch-{kind.value}",
        f"GridWatch · {KIND_NAMES[kind]}",
        panels,
        [sensor_var(kind), TZ_VAR],
    )


def rollup_mean(kind: Kind, field: str) -> str:
    """A daily mean from the hourly rollup (adapters/influx/retention.py): sum of sums over sum
    of counts, exact where a mean of hourly means would not be. For ranges of months and years,
    which the raw policy may no longer hold."""
    return (
        f'SELECT sum("sum_{field}") / sum("count_{field}") FROM "{ROLLUP_RP}"."{kind.value}" '  # noqa: S608 - names from the catalog
        f'WHERE "sensor" =~ /^$sensor$/ AND $timeFilter '
        "GROUP BY time(1d), \"sensor\" fill(none) tz('$tz')"
    )


def rollup_panels(first_id: int, y: int) -> list[dict[str, Any]]:
    """Long-range daily means read from the hourly rollup, kept for years."""
    wanted = [(Kind.POND, "do"), (Kind.POND, "nh3n"), (Kind.WATER, "chlorine")]
    wanted.append((Kind.POWER, "voltage"))
    out = []
    for i, (kind, field) in enumerate(wanted):
        m = CATALOG[kind][field]
        out.append(
            timeseries(
                first_id + i,
                f"{m.label_zh}日均（小时汇总） {m.label_en}, daily mean from hourly rollups",
                [target(rollup_mean(kind, field))],
                UNITS.get(m.unit, ""),
                grid=((i % 2) * 12, y + (i // 2) * 8, 12, 8),
                description=(
                    f'From the "{ROLLUP_RP}" retention policy, kept for years: pick a range of '
                    "months or years here; the panels above read raw readings."
                ),
            )
        )
    return out


def officers_dashboard() -> dict[str, Any]:
    do_bands = [
        (None, "dark-red"),
        *[
            (v, c)
            for v, c in zip(
                sorted(GB3838_DO_MIN), ("red", "orange", "yellow", "green", "blue"), strict=True
            )
        ],
    ]
    nh3n_bands = [
        (None, "blue"),
        *[
            (v, c)
            for v, c in zip(
                GB3838_NH3N_MAX, ("green", "yellow", "orange", "red", "dark-red"), strict=True
            )
        ],
    ]
    pond_days = (
        'SELECT mean("do") AS "DO", mean("nh3n") AS "NH3-N", mean("orp") AS "ORP", '
        'mean("transparency") AS "transparency" FROM "pond" WHERE $timeFilter '
        "GROUP BY time(1d), \"sensor\" fill(none) tz('$tz')"
    )
    grades = timeseries(
        1,
        "堰塘黑臭指标日均值 Pond black-odorous indicators, daily means",
        [target(pond_days, alias="$tag_sensor $col")],
        description=(
            "Daily means graded by the 2015 black-odorous guide: DO < "
            f"{BLACK_ODOROUS['do'].light} light / < {BLACK_ODOROUS['do'].heavy} heavy; NH3-N > "
            f"{BLACK_ODOROUS['nh3n'].light} / > {BLACK_ODOROUS['nh3n'].heavy}; ORP < "
            f"{BLACK_ODOROUS['orp'].light} / < {BLACK_ODOROUS['orp'].heavy} mV; transparency < "
            f"{BLACK_ODOROUS['transparency'].light} / < {BLACK_ODOROUS['transparency'].heavy} cm. "
            "Grade calendar: GET /api/v1/indicators/ponds."
        ),
        grid=(0, 0, 24, 8),
    )
    grades["type"] = "table"
    grades["targets"][0]["resultFormat"] = "table"
    panels = [
        grades,
        timeseries(
            2,
            "溶解氧与地表水分类 DO with GB 3838 class bands (mg/L)",
            [target(metric_query(Kind.POND, "do"))],
            "",
            do_bands,
            "area",
            (0, 8, 12, 8),
            "Bands: class I ≥ 7.5, II ≥ 6, III ≥ 5, IV ≥ 3, V ≥ 2 mg/L; below 2 is 劣V.",
        ),
        timeseries(
            3,
            "氨氮与地表水分类 NH3-N with GB 3838 class bands (mg/L)",
            [target(metric_query(Kind.POND, "nh3n"))],
            "",
            nh3n_bands,
            "area",
            (12, 8, 12, 8),
            "Bands: class I ≤ 0.15, II ≤ 0.5, III ≤ 1.0, IV ≤ 1.5, V ≤ 2.0 mg/L. "
            "TP is not measured.",
        ),
        timeseries(
            4,
            "充满度 Sewer fill (max)",
            [target(metric_query(Kind.SEWER, "fill", "max"))],
            "",
            [
                (None, "green"),
                (SEWER_EVENTS["surcharge_warning"].limit, "orange"),
                (SEWER_EVENTS["surcharge"].limit, "red"),
            ],
            "line",
            (0, 16, 12, 8),
        ),
        timeseries(
            5,
            "井内水面距井盖 Sewer freeboard (min, m)",
            [target(metric_query(Kind.SEWER, "freeboard", "min"))],
            "lengthm",
            [
                (None, "red"),
                (SEWER_EVENTS["overflow"].limit, "orange"),
                (SEWER_EVENTS["overflow_warning"].limit, "green"),
            ],
            "line",
            (12, 16, 12, 8),
        ),
        timeseries(
            6,
            "余氯 Free chlorine (mg/L)",
            [target(metric_query(Kind.WATER, "chlorine"))],
            "",
            [
                (None, "red"),
                (CHLORINE_COMPLIANT[0], "orange"),
                (CHLORINE_WARNING_MIN, "green"),
                (CHLORINE_COMPLIANT[1], "red"),
            ],
            "line",
            (0, 24, 12, 8),
            "GB 5749-2022: 0.05–2 mg/L at the tap; 0.1 mg/L warning line.",
        ),
        timeseries(
            7,
            "最小夜间流量 Minimum flow per night (m³/h)",
            [
                target(
                    'SELECT min("flow") FROM "water" WHERE "sensor" =~ /^$sensor$/ AND $timeFilter '
                    "GROUP BY time(1d), \"sensor\" fill(none) tz('$tz')"
                )
            ],
            "",
            description=(
                "The day's lowest flow, which on a supply network falls in the small hours; the "
                "exact 02:00–05:00 minimum is GET /api/v1/indicators/night-flow."
            ),
            grid=(12, 24, 12, 8),
        ),
        timeseries(
            8,
            "相电压 Phase voltage (V) with 198 / 235.4 V limits",
            [target(metric_query(Kind.POWER, "voltage"))],
            "volt",
            [(None, "red"), (VOLTAGE_QUALIFIED[0], "green"), (VOLTAGE_QUALIFIED[1], "red")],
            "line",
            (0, 32, 12, 8),
            "GB/T 12325-2008: 198–235.4 V (+7 % / −10 %).",
        ),
        {
            "id": 9,
            "type": "table",
            "title": "电压合格读数 Voltage readings: qualified (A) and with supply (B)",
            "description": (
                "电压合格率 = A / B; readings below 132 V are outage. "
                "Exact rates: GET /api/v1/indicators/voltage."
            ),
            "datasource": DS,
            "gridPos": {"x": 12, "y": 32, "w": 12, "h": 8},
            "targets": [
                {
                    **target(
                        'SELECT count("voltage") AS "qualified" FROM "power" '  # noqa: S608 - constants
                        f'WHERE "voltage" >= {VOLTAGE_QUALIFIED[0]} '
                        f'AND "voltage" <= {VOLTAGE_QUALIFIED[1]} '
                        'AND $timeFilter GROUP BY "sensor"',
                        "A",
                    ),
                    "resultFormat": "table",
                },
                {
                    **target(
                        'SELECT count("voltage") AS "supplied" FROM "power" WHERE "voltage" >= 132 '
                        'AND $timeFilter GROUP BY "sensor"',
                        "B",
                    ),
                    "resultFormat": "table",
                },
            ],
            "transformations": [{"id": "merge", "options": {}}],
        },
    ]
    panels += rollup_panels(len(panels) + 1, 40)
    variables = [
        {**sensor_var(Kind.POND), "name": "sensor", "query": 'SHOW TAG VALUES WITH KEY = "sensor"'},
        TZ_VAR,
    ]
    return dashboard("gridwatch-officers", "GridWatch · 环境监管 Officers", panels, variables)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    boards = {f"{k.value}.json": kind_dashboard(k) for k in Kind}
    boards["officers.json"] = officers_dashboard()
    for name, board in boards.items():
        (OUT / name).write_text(
            json.dumps(board, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
