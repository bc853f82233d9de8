// The registry's map (#/registry/map): every active sensor as a marker at its coordinates, each
// grid cell as its GeoJSON boundary (or, without one, the padded outline of its sensors) — SVG
// from the registry's own coordinates like the site map, no tile server. An admin places a new
// sensor by clicking its spot ("place a sensor", then a click), moves one by dragging its
// marker (or editing its lat/lon), and retires one from its panel.

import { cellOutline } from "./map.js";
import { h, mount, s } from "./dom.js";
import { t } from "./i18n.js";
import { confirmDialog } from "./forms.js";
import { nameOf } from "./registry.js";
import { api } from "./api.js";

const W = 1000;
const H = 640;
const PAD = 0.12; // of the span, around what is drawn
const MIN_SPAN = 0.004; // degrees (~400 m): one sensor alone still gets a neighbourhood
const HUES = [210, 150, 35, 280, 0, 100, 190, 320];
const DIGITS = 6; // ~0.1 m

/** Equirectangular projection of the box around `points` ({lat, lon}), and its inverse. */
export function projection(points) {
  const lats = points.map((p) => p.lat);
  const lons = points.map((p) => p.lon);
  if (!points.length) {
    lats.push(31.15); // an empty registry: somewhere to click
    lons.push(121.12);
  }
  const lat0 = (Math.min(...lats) + Math.max(...lats)) / 2;
  const k = Math.cos((lat0 * Math.PI) / 180);
  let [x0, x1] = [Math.min(...lons) * k, Math.max(...lons) * k];
  let [y0, y1] = [-Math.max(...lats), -Math.min(...lats)];
  const span = Math.max(x1 - x0, y1 - y0, MIN_SPAN);
  const grow = (a, b) => {
    const mid = (a + b) / 2;
    const half = Math.max(b - a, MIN_SPAN) / 2 + span * PAD;
    return [mid - half, mid + half];
  };
  [x0, x1] = grow(x0, x1);
  [y0, y1] = grow(y0, y1);
  const scale = Math.min(W / (x1 - x0), H / (y1 - y0));
  const ox = (W - (x1 - x0) * scale) / 2;
  const oy = (H - (y1 - y0) * scale) / 2;
  const round = (v) => Number(v.toFixed(DIGITS));
  return {
    to: (p) => [ox + (p.lon * k - x0) * scale, oy + (-p.lat - y0) * scale],
    from: ([x, y]) => ({ lat: round(-((y - oy) / scale + y0)), lon: round(((x - ox) / scale + x0) / k) }),
  };
}

function boundaryPoints(grid) {
  return grid.boundary?.coordinates?.[0]?.map(([lon, lat]) => ({ lat, lon })) ?? [];
}

export function renderRegistryMap(root, initialReg, { admin, actions }) {
  let reg = initialReg;
  let project = null;
  let placing = false;
  let selected = null;
  const box = h("div.map-box.reg-map-box");
  const info = h("aside.map-info.reg-map-info");
  const hint = h("p.muted.small.place-hint");
  const place = admin ? h("button.place-sensor", { type: "button", "aria-pressed": "false", onclick: () => setPlacing(!placing) }, t("reg.place")) : null;
  const note = h("p.reg-map-note", { role: "status" });
  mount(root, h("div.map-layout", {}, h("div", {}, admin ? h("div.reg-tools", {}, place, hint) : null, box), h("div", {}, note, info)));

  function setPlacing(on) {
    placing = on;
    place?.setAttribute("aria-pressed", on ? "true" : "false");
    place?.classList.toggle("active", on);
    box.classList.toggle("placing", on);
    hint.textContent = on ? t("reg.place_hint") : "";
  }

  /** The SVG coordinates of a pointer event (the SVG is scaled to its box). */
  function svgPoint(svg, ev) {
    const pt = svg.createSVGPoint();
    pt.x = ev.clientX;
    pt.y = ev.clientY;
    const p = pt.matrixTransform(svg.getScreenCTM().inverse());
    return [p.x, p.y];
  }

  function showInfo(sensor) {
    selected = sensor.id;
    for (const g of box.querySelectorAll("g.reg-sensor")) g.classList.toggle("selected", g.dataset.sensor === selected);
    mount(info,
      h("h2", {}, sensor.id),
      h("dl.facts", {},
        h("dt", {}, t("filter.kind")), h("dd", {}, t(`kind.${sensor.kind}`)),
        h("dt", {}, t("filter.grid")), h("dd.grid", {}, nameOf(reg.grids, sensor.grid)),
        sensor.asset ? [h("dt", {}, t("map.asset")), h("dd", {}, sensor.asset)] : null,
        h("dt", {}, t("reg.f.location")), h("dd.latlon", {}, sensor.location ? `${sensor.location.lat}, ${sensor.location.lon}` : "—")),
      admin ? h("div.reg-tools", {},
        h("button.edit", { type: "button", onclick: () => actions.editSensor(sensor) }, t("reg.edit_short")),
        h("button.rotate", { type: "button", onclick: () => actions.rotate(sensor) }, t("reg.rotate")),
        h("button.retire.danger", { type: "button", onclick: () => actions.retire(sensor) }, t("reg.retire"))) : null,
      admin ? h("p.muted.small", {}, t("reg.drag_hint")) : null);
  }

  async function moveTo(sensor, at) {
    if (!(await confirmDialog(t("reg.move_confirm", { id: sensor.id, lat: at.lat, lon: at.lon }), { yes: t("reg.move") }))) {
      draw();
      return;
    }
    try {
      actions.done(await api(`/sensors/${encodeURIComponent(sensor.id)}`, { method: "PATCH", body: { location: at } }));
    } catch (e) {
      actions.failed(e);
      draw();
    }
  }

  function marker(sensor, svg) {
    const [cx, cy] = project.to(sensor.location);
    const g = s("g", {
      class: `reg-sensor kind-${sensor.kind}${sensor.id === selected ? " selected" : ""}`, "data-sensor": sensor.id, "data-grid": sensor.grid,
      "data-draggable": admin ? "yes" : "no", tabindex: 0, role: "button", transform: `translate(${cx} ${cy})`,
      onkeydown: (e) => { if (e.key === "Enter") showInfo(sensor); },
    },
    s("title", {}, `${sensor.id} · ${t(`kind.${sensor.kind}`)} · ${sensor.grid}`),
    s("circle", { r: 10 }),
    s("text", { y: 24, "text-anchor": "middle", class: "sensor-label" }, sensor.id));
    let drag = null;
    g.addEventListener("pointerdown", (ev) => {
      ev.stopPropagation();
      if (!admin || placing) return;
      drag = { start: svgPoint(svg, ev), at: [cx, cy], moved: false };
      g.setPointerCapture(ev.pointerId);
    });
    g.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const [x, y] = svgPoint(svg, ev);
      const dx = x - drag.start[0];
      const dy = y - drag.start[1];
      if (Math.hypot(dx, dy) > 4) drag.moved = true;
      if (drag.moved) {
        drag.at = [cx + dx, cy + dy];
        g.setAttribute("transform", `translate(${drag.at[0]} ${drag.at[1]})`);
        g.classList.add("dragging");
      }
    });
    g.addEventListener("pointerup", (ev) => {
      ev.stopPropagation();
      const d = drag;
      drag = null;
      g.classList.remove("dragging");
      if (d?.moved) moveTo(sensor, project.from(d.at));
      else showInfo(sensor);
    });
    g.addEventListener("click", (ev) => ev.stopPropagation());
    return g;
  }

  function draw() {
    const active = reg.sensors.filter((x) => x.status === "active");
    const located = active.filter((x) => x.location && Number.isFinite(x.location.lat) && Number.isFinite(x.location.lon));
    const bounds = [...located.map((x) => x.location), ...reg.grids.flatMap(boundaryPoints)];
    project = projection(bounds);
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "site-map reg-site-map", role: "img", "aria-label": t("reg.tab.map") });
    const cells = reg.grids.map((g, i) => {
      const hue = HUES[i % HUES.length];
      const own = boundaryPoints(g).map((p) => project.to(p));
      const members = located.filter((x) => x.grid === g.id).map((x) => project.to(x.location));
      const outline = own.length ? own : members.length ? cellOutline(members, 34) : null;
      if (!outline) return null;
      const top = outline.reduce((a, b) => (b[1] < a[1] ? b : a), outline[0]);
      const cx = outline.reduce((a, p) => a + p[0], 0) / outline.length;
      return s("g", { class: "grid-cell", "data-grid": g.id, "data-boundary": own.length ? "yes" : "no" },
        s("polygon", { points: outline.map((p) => p.join(",")).join(" "), fill: `hsla(${hue}, 60%, 60%, 0.12)`, stroke: `hsla(${hue}, 45%, 40%, 0.7)`, "stroke-width": 1.5, "stroke-dasharray": own.length ? null : "6 4" }),
        s("text", { x: cx, y: top[1] - 6, "text-anchor": "middle", class: "cell-label" }, g.name || g.id));
    });
    svg.append(s("rect", { x: 0, y: 0, width: W, height: H, class: "map-ground" }), ...cells.filter(Boolean), ...located.map((x) => marker(x, svg)));
    svg.addEventListener("click", (ev) => {
      if (!placing) return;
      const at = project.from(svgPoint(svg, ev));
      setPlacing(false);
      actions.addSensor(at);
    });
    mount(box, svg);
    const missing = active.length - located.length;
    note.textContent = [t("map.sensors", { n: active.length }), missing ? t("map.no_location", { n: missing }) : ""].filter(Boolean).join(" · ");
    note.className = "reg-map-note";
    const shown = selected && active.find((x) => x.id === selected);
    if (shown) showInfo(shown);
    else if (selected) {
      selected = null;
      mount(info);
    }
  }

  draw();
  return {
    update(next) {
      reg = next;
      draw();
    },
  };
}
