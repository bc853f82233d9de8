// Officers' view: a sensor's metric over a chosen range with the standards' bands, CSV export of
// exactly what is shown, a pond's black-odorous grade calendar, and the compliance indicators.
// Every panel degrades on its own: a missing endpoint (404) says "not available", nothing breaks.

import { api, query } from "./api.js";
import { drawChart, toSeries } from "./chart.js";
import { download, seriesCsv } from "./csv.js";
import { h, mount } from "./dom.js";
import { pick, t } from "./i18n.js";
import { renderIndicators } from "./indicators.js";
import { loadCatalog, loadSensors, metricInfo, metricsOf } from "./site.js";
import { everyFor, iso, toMs } from "./timeparams.js";

const RANGES = { "6h": 6 * 3600e3, "24h": 24 * 3600e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3, "365d": 365 * 86400e3 };
const PREF_KEY = "gridwatch.trends";

function prefs() {
  try {
    return JSON.parse(sessionStorage.getItem(PREF_KEY) || "{}");
  } catch {
    return {};
  }
}

/** "none" | "light" | "heavy" | null from whatever the pond status route calls a grade. */
export function gradeKey(g) {
  if (g == null) return null;
  if (typeof g === "object") return gradeKey(g.grade ?? g.name ?? g.value ?? g.en);
  const s = String(g).toLowerCase();
  if (s === "0" || s.startsWith("none") || s.startsWith("not") || s.includes("不黑臭") || s === "clean") return "none";
  if (s === "1" || s.startsWith("light") || s.includes("轻")) return "light";
  if (s === "2" || s.startsWith("heavy") || s.includes("重")) return "heavy";
  return null;
}

const CLASS_NAMES = ["I", "II", "III", "IV", "V", "劣V"];

/** A GB 3838 class as the standard writes it, from 1..6, "IV", or {label}. */
export function classText(c) {
  if (c == null) return "";
  if (typeof c === "object") return c.label ?? pick(c) ?? "";
  if (typeof c === "number") return CLASS_NAMES[c - 1] ?? String(c);
  return String(c);
}

export function renderTrends(root, { params }) {
  const saved = prefs();
  const state = {
    sensor: params.get("sensor") ?? saved.sensor ?? "",
    metric: params.get("metric") ?? saved.metric ?? "",
    range: params.get("range") ?? saved.range ?? "24h",
  };
  let sensors = [];
  let shown = null;
  let chart = null;

  const sensorSel = h("select", { name: "sensor", "aria-label": t("trends.sensor") });
  const metricSel = h("select", { name: "metric", "aria-label": t("trends.metric") });
  const rangeSel = h("select", { name: "range", "aria-label": t("trends.range") },
    Object.keys(RANGES).map((r) => h("option", { value: r, selected: r === state.range }, t(`range.${r}`))));
  const csvBtn = h("button.csv", { type: "button", disabled: true, onclick: () => exportCsv() }, t("trends.csv"));
  const info = h("p.muted.series-info");
  const chartBox = h("div.chart");
  const pondBox = h("section.pond");
  const indicatorBox = h("section.indicators");

  mount(root,
    h("section.view.trends", {},
      h("h1", {}, t("trends.title")),
      h("form.filters", { onsubmit: (e) => { e.preventDefault(); show(); } },
        h("label.filter", {}, h("span", {}, t("trends.sensor")), sensorSel),
        h("label.filter", {}, h("span", {}, t("trends.metric")), metricSel),
        h("label.filter", {}, h("span", {}, t("trends.range")), rangeSel),
        h("button.show", { type: "submit" }, t("trends.show")),
        csvBtn),
      info, chartBox, pondBox, indicatorBox));

  const kindOf = (id) => sensors.find((x) => x.id === id)?.kind ?? "";

  function fillMetrics() {
    const kind = kindOf(state.sensor);
    const metrics = metricsOf(kind);
    if (!metrics.some((m) => m.name === state.metric)) state.metric = metrics[0]?.name ?? "";
    mount(metricSel, metrics.map((m) =>
      h("option", { value: m.name, selected: m.name === state.metric }, `${pick(m)}${m.unit ? ` (${m.unit})` : ""}`)));
  }

  sensorSel.addEventListener("change", () => { state.sensor = sensorSel.value; fillMetrics(); show(); });
  metricSel.addEventListener("change", () => { state.metric = metricSel.value; show(); });
  rangeSel.addEventListener("change", () => { state.range = rangeSel.value; show(); });

  async function show() {
    sessionStorage.setItem(PREF_KEY, JSON.stringify(state));
    if (!state.sensor || !state.metric) return;
    const kind = kindOf(state.sensor);
    const stop = Date.now();
    const start = stop - (RANGES[state.range] ?? RANGES["24h"]);
    const every = everyFor(start, stop);
    const q = query({ sensor: state.sensor, metric: state.metric, start: iso(start), stop: iso(stop), every, agg: "mean" });
    csvBtn.disabled = true;
    info.textContent = t("loading");
    try {
      const data = await api(`/series${q}`);
      const series = toSeries(data);
      const unit = data?.unit ?? metricInfo(kind, state.metric).unit;
      shown = { series, sensor: state.sensor, metric: state.metric, unit };
      info.textContent = t("trends.points", { n: series.t.length, every: data?.every_s ? `${data.every_s}s` : every });
      chart?.destroy();
      chart = await drawChart(chartBox, { series, kind, metric: state.metric, unit });
      csvBtn.disabled = series.t.length === 0;
    } catch (e) {
      shown = null;
      info.textContent = "";
      mount(chartBox, h("p.error", {}, e.status === 404 ? t("error.unavailable") : t("error.load", { msg: e.message })));
    }
    if (kind === "pond") showPond(state.sensor);
    else pondBox.replaceChildren();
  }

  function exportCsv() {
    if (!shown) return;
    const stamp = new Date().toISOString().slice(0, 10);
    download(`${shown.sensor}_${shown.metric}_${stamp}.csv`, seriesCsv(shown.series, shown));
  }

  async function showPond(sensor) {
    mount(pondBox, h("h2", {}, t("pond.title")), h("p.muted", {}, t("loading")));
    let data;
    try {
      data = await api(`/ponds/${encodeURIComponent(sensor)}/status`);
    } catch (e) {
      mount(pondBox, h("h2", {}, t("pond.title")), h("p.muted", {}, e.status === 404 ? t("error.unavailable") : t("error.load", { msg: e.message })));
      return;
    }
    const days = data?.days ?? data?.history ?? data?.by_day ?? [];
    const now = data?.now ?? data?.current ?? {};
    const nowGrade = gradeKey(now.grade ?? now);
    const nowClass = classText(now.class ?? now.water_class);
    const cells = days.map((d) => {
      const g = gradeKey(d.grade);
      const day = d.date ?? d.day ?? d.time ?? "";
      const ms = toMs(day);
      const label = ms ? new Date(ms).getDate() : String(day).slice(8, 10);
      const cls = classText(d.class ?? d.water_class);
      return h(`div.day.grade-${g ?? "unknown"}`, { title: `${String(day).slice(0, 10)} · ${t(`grade.${g ?? "unknown"}`)}${cls ? ` · ${cls}` : ""}`, "data-day": String(day).slice(0, 10) },
        h("span.d", {}, label), cls ? h("span.c", {}, cls) : null);
    });
    mount(pondBox,
      h("h2", {}, t("pond.title")),
      h("p", {},
        h(`span.badge.grade-${nowGrade ?? "unknown"}`, {}, t("pond.now", { grade: t(`grade.${nowGrade ?? "unknown"}`) })),
        nowClass ? h("span.badge", {}, t("pond.class_now", { cls: nowClass })) : null),
      cells.length ? h("div.calendar", {}, cells) : h("p.muted", {}, t("empty")),
      h("ul.legend", {}, ["none", "light", "heavy", "unknown"].map((g) => h("li", {}, h(`span.dot.grade-${g}`), t(`grade.${g}`)))));
  }

  (async () => {
    try {
      [sensors] = await Promise.all([loadSensors(), loadCatalog()]);
    } catch (e) {
      mount(chartBox, h("p.error", {}, t("error.load", { msg: e.message })));
      return;
    }
    if (!sensors.some((x) => x.id === state.sensor)) state.sensor = sensors[0]?.id ?? "";
    const kinds = ["pond", "water", "power", "sewer"];
    mount(sensorSel, kinds.map((k) => {
      const of = sensors.filter((x) => x.kind === k);
      return of.length ? h("optgroup", { label: t(`kind.${k}`) }, of.map((x) => h("option", { value: x.id, selected: x.id === state.sensor }, x.id))) : null;
    }));
    fillMetrics();
    show();
    renderIndicators(indicatorBox);
  })();

  return { destroy: () => chart?.destroy() };
}
