// What the page knows about the site, fetched once per login: the sensor registry (for the map,
// the filters and the trend pickers) and the metric catalog (names in both languages, units).

import { api } from "./api.js";
import { pick } from "./i18n.js";

let sensors = null;
let catalog = null;

export function forget() {
  sensors = null;
  catalog = null;
}

/**
 * GET /api/v1/sensors as a list (the response may be a list or {items: [...]}); each sensor
 * carries its `state` (ok / warning / critical / offline), computed by the server from the
 * active tickets. `fresh` fetches again, for views that show the state.
 */
export async function loadSensors({ fresh = false } = {}) {
  if (!sensors || fresh) {
    const data = await api("/sensors");
    sensors = Array.isArray(data) ? data : data?.items ?? data?.sensors ?? [];
  }
  return sensors;
}

/** /catalog.json: {kind: [{name, unit, zh, en}]}, served by the API process from domain/catalog. */
export async function loadCatalog() {
  if (!catalog) {
    try {
      const res = await fetch("/catalog.json");
      catalog = res.ok ? await res.json() : {};
    } catch {
      catalog = {};
    }
  }
  return catalog;
}

export function metricsOf(kind) {
  return catalog?.[kind] ?? [];
}

export function metricInfo(kind, name) {
  return metricsOf(kind).find((m) => m.name === name) ?? { name, unit: "", zh: name, en: name };
}

export function metricLabel(kind, name) {
  return pick(metricInfo(kind, name)) || name;
}

export function gridsOf(list) {
  return [...new Set(list.map((s) => s.grid).filter(Boolean))].sort();
}
