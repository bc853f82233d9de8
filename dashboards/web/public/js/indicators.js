// Compliance tables from the trends API's indicator routes. Each indicator is its own panel:
// one that is missing (404) or refused says so and the others still show. Rows are rendered
// generically (columns from the first row), so a new field on the server needs no page change.

import { api } from "./api.js";
import { h, mount } from "./dom.js";
import { pick, t } from "./i18n.js";

/** The trends API's indicator routes (services/api/routes/trends.py), each with the rows its
 * table shows; officers and admins only (a crew's 403 hides the panel's data). */
export const INDICATORS = [
  { key: "voltage", path: "/indicators/voltage", title: "ind.voltage" },
  { key: "chlorine", path: "/indicators/chlorine", title: "ind.chlorine" },
  { key: "ponds", path: "/indicators/ponds", title: "ind.ponds",
    rows: (d) => rowsOf(d).map(({ sensor, asset, days_per_grade, days_per_class }) => ({ sensor, asset, days_per_grade, days_per_class })) },
  { key: "sewer", path: "/indicators/sewer-events", title: "ind.sewer", rows: (d) => d?.weeks ?? [] },
  { key: "night-flow", path: "/indicators/night-flow", title: "ind.night_flow",
    rows: (d) => rowsOf(d).map((r) => ({ sensor: r.sensor, asset: r.asset, nights: r.nights?.length ?? 0,
      last_min_flow: r.nights?.at(-1)?.min_flow ?? null, unit: r.unit })) },
  { key: "completeness", path: "/indicators/completeness", title: "ind.completeness",
    rows: (d) => [...(d?.grids ?? []), ...(d?.sensors ?? [])] },
];

export function rowsOf(data) {
  if (Array.isArray(data)) return data;
  for (const k of ["rows", "items", "data", "sensors", "points", "weeks", "days"]) {
    if (Array.isArray(data?.[k])) return data[k];
  }
  return [];
}

function fmt(key, v) {
  if (v == null) return "–";
  if (typeof v === "boolean") return v ? "✓" : "✗";
  if (typeof v === "number") {
    if (/(rate|share|ratio|completeness|compliance)$/i.test(key) && v >= 0 && v <= 1) return `${(v * 100).toFixed(1)} %`;
    return Number.isInteger(v) ? String(v) : v.toFixed(2);
  }
  if (typeof v === "object") {
    if ("zh" in v || "en" in v) return pick(v);
    if ("ratio" in v) return v.ratio == null ? "–" : `${(v.ratio * 100).toFixed(1)} % (${v.inside}/${v.total})`;
    return Object.entries(v).map(([k, n]) => `${header(k)}: ${n}`).join(" · ") || "–";
  }
  return String(v);
}

function header(key) {
  for (const k of [`col.${key}`, `grade.${key}`]) {
    const s = t(k);
    if (s !== k) return s;
  }
  return key;
}

/** A table of rows (objects), columns from the first row's keys. */
export function table(rows) {
  if (!rows.length) return h("p.muted", {}, t("empty"));
  const cols = Object.keys(rows[0]).filter((k) => !Array.isArray(rows[0][k]));
  return h("table.indicator", {},
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, header(c))))),
    h("tbody", {}, rows.map((r) => h("tr", {}, cols.map((c) => h(typeof r[c] === "number" ? "td.num" : "td", {}, fmt(c, r[c])))))));
}

export function renderIndicators(box) {
  mount(box, h("h2", {}, t("compliance.title")));
  if (!INDICATORS.length) {
    box.append(h("p.muted", {}, t("compliance.unavailable")));
    return;
  }
  for (const ind of INDICATORS) {
    const panel = h("div.indicator-panel", { "data-indicator": ind.key }, h("h3", {}, t(ind.title)), h("p.muted", {}, t("loading")));
    box.append(panel);
    api(ind.path)
      .then((data) => mount(panel, h("h3", {}, t(ind.title)), table(ind.rows ? ind.rows(data) : rowsOf(data))))
      .catch((e) => {
        const why = e.status === 404 || e.status === 503 ? t("error.unavailable") : e.status === 403 ? t("error.forbidden") : t("error.load", { msg: e.message });
        mount(panel, h("h3", {}, t(ind.title)), h("p.muted", {}, why));
      });
  }
}
