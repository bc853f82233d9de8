// Compliance tables from the trends API's indicator routes. Each indicator is its own panel:
// one that is missing (404) or refused says so and the others still show. Rows are rendered
// generically (columns from the first row), so a new field on the server needs no page change.

import { api } from "./api.js";
import { h, mount } from "./dom.js";
import { pick, t } from "./i18n.js";

/** Indicator routes under /api/v1 and the dictionary key of each title. */
export const INDICATORS = [];

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
  if (typeof v === "object") return pick(v) || JSON.stringify(v);
  return String(v);
}

function header(key) {
  const k = `col.${key}`;
  const s = t(k);
  return s === k ? key : s;
}

/** A table of rows (objects), columns from the first row's keys. */
export function table(rows) {
  if (!rows.length) return h("p.muted", {}, t("empty"));
  const cols = Object.keys(rows[0]).filter((k) => typeof rows[0][k] !== "object" || rows[0][k] === null || "zh" in rows[0][k]);
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
      .then((data) => mount(panel, h("h3", {}, t(ind.title)), table(rowsOf(data))))
      .catch((e) => mount(panel, h("h3", {}, t(ind.title)), h("p.muted", {}, e.status === 404 ? t("error.unavailable") : t("error.load", { msg: e.message }))));
  }
}
