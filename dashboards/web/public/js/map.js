// The site map, drawn as SVG from the registry's own coordinates (no tile server, works
// offline): each grid cell is the padded outline around its sensors, each sensor a dot coloured
// by the state the server gives it (GET /sensors). Clicking a sensor shows its details, a link
// to its trends and its maintenance windows.

import { api } from "./api.js";
import { h, mount, s } from "./dom.js";
import { t } from "./i18n.js";
import { maintenancePanel } from "./maintenance.js";
import { loadSensors } from "./site.js";

const W = 1000;
const H = 640;
const MARGIN = 60;
// "waiting": the hub has no verdict on the sensor yet (not heard since it started, or silent
// and its offline check still pending) — shown apart from ok, which needs a recent reading.
const STATES = ["ok", "waiting", "warning", "critical", "offline"];
const CELL_HUES = [210, 150, 35, 280, 0, 100, 190, 320];

/** Convex hull (Andrew's monotone chain) of [x, y] points. */
export function hull(points) {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower.at(-2), lower.at(-1), q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper = [];
  for (const q of p.reverse()) {
    while (upper.length >= 2 && cross(upper.at(-2), upper.at(-1), q) <= 0) upper.pop();
    upper.push(q);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

/** The outline of a grid cell: the hull of a ring of points around each sensor. */
export function cellOutline(points, r) {
  const ring = [];
  for (const [x, y] of points) {
    for (let i = 0; i < 16; i++) {
      const a = (i / 16) * 2 * Math.PI;
      ring.push([x + r * Math.cos(a), y + r * Math.sin(a)]);
    }
  }
  return hull(ring);
}

/** Equirectangular projection fitted to the box: fine at the scale of a community. */
function projector(located) {
  const lats = located.map((x) => x.location.lat);
  const lons = located.map((x) => x.location.lon);
  const lat0 = (Math.min(...lats) + Math.max(...lats)) / 2;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const xs = lons.map((lon) => lon * k);
  const ys = lats.map((lat) => -lat);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min((W - 2 * MARGIN) / Math.max(x1 - x0, 1e-6), (H - 2 * MARGIN) / Math.max(y1 - y0, 1e-6));
  const ox = (W - (x1 - x0) * scale) / 2;
  const oy = (H - (y1 - y0) * scale) / 2;
  return (loc) => [ox + (loc.lon * k - x0) * scale, oy + (-loc.lat - y0) * scale];
}

function stateOf(sensor) {
  return STATES.includes(sensor.state) ? sensor.state : "ok";
}

/** Ids of the sensors with a maintenance window on now (the ones this token may see). */
async function underMaintenance() {
  try {
    const data = await api("/maintenance?current=true&limit=1000");
    return new Set((data?.windows ?? []).filter((w) => w.active).map((w) => w.sensor));
  } catch {
    return new Set(); // the map still shows the states without it
  }
}

export function renderMap(root, { go }) {
  const svgBox = h("div.map-box", {}, h("p.muted", {}, t("loading")));
  const info = h("aside.map-info");
  const legend = h("ul.legend", {},
    STATES.map((st) => h("li", {}, h(`span.dot.state-${st}`), t(`state.${st}`))),
    h("li", {}, h("span.dot.maintenance-ring"), t("maint.on")));
  const note = h("p.muted.map-note");
  mount(root, h("section.view.map", {}, h("h1", {}, t("map.title")), h("div.map-layout", {}, svgBox, h("div", {}, legend, note, info))));

  let shown = null; // {id, badge} of the sensor in the info panel, kept current on redraws

  function stateBadge(st) {
    return h(`span.badge.state-${st}`, { "data-state": st }, t(`state.${st}`));
  }

  function showInfo(sensor) {
    shown = { id: sensor.id, badge: stateBadge(stateOf(sensor)) };
    mount(info,
      h("h2", {}, sensor.id),
      h("dl.facts", {},
        h("dt", {}, t("filter.kind")), h("dd", {}, t(`kind.${sensor.kind}`)),
        h("dt", {}, t("filter.grid")), h("dd", {}, sensor.grid_name ? `${sensor.grid_name} (${sensor.grid})` : sensor.grid),
        sensor.community ? [h("dt", {}, t("map.community")), h("dd", {}, sensor.community_name || sensor.community)] : null,
        sensor.worker ? [h("dt", {}, t("col.assignee")), h("dd", {}, sensor.worker)] : null,
        sensor.asset ? [h("dt", {}, t("map.asset")), h("dd", {}, sensor.asset)] : null,
        h("dt", {}, t("col.status")), h("dd", {}, shown.badge)),
      h("a.button", { href: `#/trends?sensor=${encodeURIComponent(sensor.id)}` }, t("map.open_trends")),
      maintenancePanel(sensor.id, { onChange: () => draw() }));
  }

  async function draw() {
    let sensors;
    let maintained;
    try {
      [sensors, maintained] = await Promise.all([loadSensors({ fresh: true }), underMaintenance()]);
    } catch (e) {
      mount(svgBox, h("p.error", {}, t("error.load", { msg: e.message })));
      return;
    }
    const current = shown && sensors.find((x) => x.id === shown.id);
    if (current) {
      const fresh = stateBadge(stateOf(current));
      shown.badge.replaceWith(fresh);
      shown.badge = fresh;
    }
    const located = sensors.filter((x) => x.location && Number.isFinite(x.location.lat) && Number.isFinite(x.location.lon));
    note.textContent = [t("map.sensors", { n: sensors.length }),
      located.length < sensors.length ? t("map.no_location", { n: sensors.length - located.length }) : ""].filter(Boolean).join(" · ");
    if (!located.length) {
      mount(svgBox, h("p.muted", {}, t("empty")));
      return;
    }
    const project = projector(located);
    const byGrid = new Map();
    for (const x of located) {
      if (!byGrid.has(x.grid)) byGrid.set(x.grid, []);
      byGrid.get(x.grid).push(x);
    }
    const cells = [...byGrid.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([grid, members], i) => {
      const pts = members.map((m) => project(m.location));
      const outline = cellOutline(pts, 34);
      const hue = CELL_HUES[i % CELL_HUES.length];
      const top = outline.reduce((a, b) => (b[1] < a[1] ? b : a), outline[0]);
      const cx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
      return s("g", { class: "grid-cell", "data-grid": grid },
        s("polygon", { points: outline.map((p) => p.join(",")).join(" "), fill: `hsla(${hue}, 60%, 60%, 0.12)`, stroke: `hsla(${hue}, 45%, 40%, 0.7)`, "stroke-width": 1.5, "stroke-dasharray": "6 4" }),
        s("text", { x: cx, y: top[1] - 6, "text-anchor": "middle", class: "cell-label" }, members[0].grid_name || grid));
    });
    const dots = located.map((x) => {
      const [cx, cy] = project(x.location);
      const st = stateOf(x);
      const maint = maintained.has(x.id);
      return s("g", { class: `sensor state-${st}`, "data-sensor": x.id, "data-state": st, "data-maintenance": maint ? "yes" : "no", tabindex: 0, role: "button", onclick: () => showInfo(x),
          onkeydown: (e) => { if (e.key === "Enter") showInfo(x); } },
        s("title", {}, [x.id, t(`kind.${x.kind}`), t(`state.${st}`), maint ? t("maint.on") : null].filter(Boolean).join(" · ")),
        maint ? s("circle", { cx, cy, r: 14, class: "maintenance-ring" }) : null,
        s("circle", { cx, cy, r: 9 }),
        s("text", { x: cx, y: cy + 22, "text-anchor": "middle", class: "sensor-label" }, x.id));
    });
    mount(svgBox, s("svg", { viewBox: `0 0 ${W} ${H}`, class: "site-map", role: "img", "aria-label": t("map.title") }, cells, dots));
  }

  draw();
  return { onEvent: () => draw() };
}
