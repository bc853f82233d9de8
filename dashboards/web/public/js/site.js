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

/** GET /api/v1/sensors as a list (the response may be a list or {items: [...]}) */
export async function loadSensors() {
  if (!sensors) {
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

const RANK = { ok: 0, warning: 1, critical: 2, offline: 3 };
const OFFLINE_RULES = new Set(["sensor.offline", "community.silent"]);

/**
 * Each sensor's state from the active tickets (GET /tickets?status=active): offline when an
 * offline ticket (or its community's "silent" one) has not recovered, else the worst severity of
 * its unrecovered tickets, else ok. A `state` the sensor list itself carries wins.
 */
export async function loadStates(list) {
  const data = await api("/tickets?status=active&limit=1000");
  const tickets = Array.isArray(data) ? data : data?.tickets ?? data?.items ?? [];
  const states = new Map();
  const raise = (id, st) => {
    if ((RANK[st] ?? 0) > (RANK[states.get(id)] ?? 0)) states.set(id, st);
  };
  for (const tk of tickets) {
    if (tk.recovered) continue;
    const st = OFFLINE_RULES.has(tk.rule) ? "offline" : tk.severity === "critical" ? "critical" : "warning";
    if (tk.rule === "community.silent") {
      for (const s of list) if (s.community === tk.sensor || s.community === tk.community) raise(s.id, st);
    } else {
      raise(tk.sensor, st);
    }
  }
  for (const s of list) if (s.state) states.set(s.id, s.state);
  return states;
}

export function gridsOf(list) {
  return [...new Set(list.map((s) => s.grid).filter(Boolean))].sort();
}
