"""The site registry loader: a usable Site, or an error that names the file, the entry and
the field a person has to fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from domain.catalog import Kind
from domain.site import Registry, SiteError, load_site
from simulators import demo

GOOD = """
timezone: Asia/Shanghai
communities:
  - id: qingping
    name: 清平社区
    supervisor: {id: s-003, name: 周红, phone: "138-0000-0003"}
    grids:
      - id: qp-g1
        name: 清平1号网格
        worker: {id: w-017, name: 李明, phone: "138-0000-0017"}
sensors:
  - id: pond-qp-01
    kind: pond
    grid: qp-g1
    asset: 堰塘A
    location: {lat: 30.66, lon: 104.06}
    interval_s: 300
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "site.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_a_good_site_resolves_each_sensor_to_its_grid_and_community(tmp_path: Path) -> None:
    reg = Registry(load_site(write(tmp_path, GOOD)))
    place = reg.get("pond-qp-01")
    assert place is not None
    assert place.sensor.kind is Kind.POND
    assert (place.grid.worker.name, place.community.supervisor.name) == ("李明", "周红")
    assert reg.get("pond-qp-02") is None


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("interval_s: 300", "interval_s: 0"), ["sensors[0] (id pond-qp-01)", "interval_s"]),
        (("kind: pond", "kind: lake"), ["sensors[0] (id pond-qp-01)", "'kind'"]),
        (("- id: pond-qp-01", "- id: Pond_01"), ["sensors[0]", "'id'"]),
        (("grid: qp-g1\n    asset", "grid: qp-g9\n    asset"), ["qp-g9", "no community"]),
        (("lat: 30.66", "lat: 130.66"), ["location", "'lat'"]),
        (("timezone: Asia/Shanghai", "timezone: Mars/Olympus"), ["timezone", "Mars/Olympus"]),
        (("    asset: 堰塘A\n", "    asset: 堰塘A\n    colour: red\n"), ["colour"]),
    ],
)
def test_errors_name_the_file_the_entry_and_the_field(
    tmp_path: Path, change: tuple[str, str], words: list[str]
) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(SiteError) as e:
        load_site(path)
    message = str(e.value)
    assert str(path) in message
    for w in words:
        assert w in message


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    doubled = GOOD + GOOD[GOOD.index("  - id: pond-qp-01") :]
    with pytest.raises(SiteError, match=r"pond-qp-01.*used twice"):
        load_site(write(tmp_path, doubled))


def test_unreadable_and_non_yaml_files_are_site_errors(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="cannot read"):
        load_site(tmp_path / "missing.yaml")
    with pytest.raises(SiteError, match="not valid YAML"):
        load_site(write(tmp_path, "communities: [\n"))
    with pytest.raises(SiteError, match="must be a mapping"):
        load_site(write(tmp_path, "- just a list\n"))


def test_the_demo_site_loads() -> None:
    reg = Registry(load_site(demo.SITE))
    assert len(reg) >= 90
    assert {p.sensor.kind for p in reg.placements.values()} == set(Kind)


def test_a_json_registry_loads_like_its_yaml(tmp_path: Path) -> None:
    """Registries exported from an asset database come as JSON (a subset of YAML) and take
    the fast path; they mean exactly what the YAML means, errors included."""
    data = yaml.safe_load(GOOD)
    as_json = tmp_path / "site.json"
    as_json.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert load_site(as_json) == load_site(write(tmp_path, GOOD))
    data["sensors"][0]["interval_s"] = 0
    as_json.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SiteError, match=r"sensors\[0\] \(id pond-qp-01\), field 'interval_s'"):
        load_site(as_json)
