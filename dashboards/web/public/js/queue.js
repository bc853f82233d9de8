// The crew's ticket queue: GET /api/v1/tickets with the filters, newest activity first.
// Clicking a row opens the ticket; live events refresh the list in place.

import { api, query } from "./api.js";
import { h, mount } from "./dom.js";
import { fmtTime, pick, t } from "./i18n.js";
import { currentMe } from "./me.js";
import { gridsOf, loadSensors } from "./site.js";

const FILTER_KEY = "gridwatch.queue.filters";
const KINDS = ["pond", "water", "power", "sewer", "community"];

export function ticketSummary(tk) {
  if (tk.summary && typeof tk.summary === "object") return pick(tk.summary);
  return pick(tk, "summary") || tk.summary || tk.rule || "";
}

export function ticketList(data) {
  return Array.isArray(data) ? data : data?.items ?? data?.tickets ?? [];
}

function loadFilters() {
  try {
    return { status: "", severity: "", kind: "", grid: "", ...JSON.parse(sessionStorage.getItem(FILTER_KEY) || "{}") };
  } catch {
    return { status: "", severity: "", kind: "", grid: "" };
  }
}

const RANK = { critical: 0, warning: 1 };
const STATUS_RANK = { open: 0, acknowledged: 1, resolved: 2 };

/** Most urgent first: unresolved before resolved, critical before warning, open before taken
 * on, then (with the phone's position) nearest first, then the oldest. */
export function byUrgency(rows, distance = () => 0) {
  return [...rows].sort((a, b) =>
    (a.status === "resolved") - (b.status === "resolved")
    || (RANK[a.severity] ?? 2) - (RANK[b.severity] ?? 2)
    || (STATUS_RANK[a.status] ?? 3) - (STATUS_RANK[b.status] ?? 3)
    || distance(a) - distance(b)
    || String(a.opened_at).localeCompare(String(b.opened_at)));
}

function metres(a, b) {
  const r = 6371000;
  const rad = (d) => (d * Math.PI) / 180;
  const x = rad(b.lon - a.lon) * Math.cos(rad((a.lat + b.lat) / 2));
  const y = rad(b.lat - a.lat);
  return Math.sqrt(x * x + y * y) * r;
}

export function badge(kind, value) {
  return h(`span.badge.${kind}-${value}`, {}, t(`${kind}.${value}`));
}

export function renderQueue(root, { go }) {
  const filters = loadFilters();
  const list = h("div.queue-list", {}, h("p.muted", {}, t("loading")));
  const count = h("span.muted.count");
  let grids = [];
  let here = null; // the phone's position, when shared: nearest first among equals
  let sensorsById = {};

  const select = (name, options) =>
    h("label.filter", {},
      h("span", {}, t(`filter.${name}`)),
      h("select", { name, "data-filter": name, onchange: (e) => { filters[name] = e.target.value; save(); refresh(); } },
        h("option", { value: "" }, t("filter.all")),
        options.map(([v, label]) => h("option", { value: v, selected: filters[name] === v }, label))));

  const bar = h("div.filters");
  const drawBar = () =>
    mount(bar,
      select("status", ["open", "acknowledged", "resolved"].map((s) => [s, t(`status.${s}`)])),
      select("severity", ["warning", "critical"].map((s) => [s, t(`severity.${s}`)])),
      select("kind", KINDS.map((k) => [k, t(`kind.${k}`)])),
      select("grid", grids.map((g) => [g, g])),
      navigator.geolocation ? h("button.near", { type: "button", onclick: locate }, t("queue.near")) : null,
      count);

  function locate() {
    navigator.geolocation.getCurrentPosition((p) => { here = { lat: p.coords.latitude, lon: p.coords.longitude }; refresh(); }, () => {}, { timeout: 5000 });
  }
  const distance = (tk) => {
    const loc = sensorsById[tk.sensor]?.location;
    return here && loc ? metres(here, loc) : 0;
  };

  const save = () => sessionStorage.setItem(FILTER_KEY, JSON.stringify(filters));

  async function refresh() {
    try {
      const data = await api(`/tickets${query(filters)}`);
      const crew = currentMe()?.role === "crew";
      const rows = crew ? byUrgency(ticketList(data), distance) : ticketList(data);
      count.textContent = t("queue.count", { n: rows.length });
      if (!rows.length) {
        mount(list, h("p.muted.empty", {}, t("empty")));
        return;
      }
      mount(list,
        h("ul.queue-cards", {}, rows.map((tk) =>
          h("li", {}, h(`a.queue-card.${tk.severity}`, { href: `#/ticket/${tk.id}`, "data-ticket": tk.id, "data-status": tk.status },
            h("div.card-top", {}, h("strong", {}, `#${tk.id}`), badge("severity", tk.severity), badge("status", tk.status),
              h("span.muted.small", {}, `${tk.sensor} · ${fmtTime(tk.opened_at)}`)),
            h("div.card-summary", {}, ticketSummary(tk)))))),
        h("table.tickets", {},
          h("thead", {}, h("tr", {},
            ["id", "severity", "status", "sensor", "summary", "grid", "assignee", "opened", "occurrences"].map((c) => h("th", {}, t(`col.${c}`))))),
          h("tbody", {}, rows.map((tk) =>
            h("tr.ticket-row", { "data-ticket": tk.id, "data-status": tk.status, tabindex: 0, onclick: () => go(`#/ticket/${tk.id}`),
              onkeydown: (e) => { if (e.key === "Enter") go(`#/ticket/${tk.id}`); } },
              h("td", {}, `#${tk.id}`),
              h("td", {}, badge("severity", tk.severity)),
              h("td.status-cell", {}, badge("status", tk.status), tk.recovered ? h("span.muted.small", {}, ` ${t("queue.recovered")}`) : null),
              h("td.nowrap", {}, tk.sensor),
              h("td.summary", {}, ticketSummary(tk)),
              h("td.nowrap", {}, tk.grid ?? ""),
              h("td", {}, tk.assignee_name || tk.assignee || ""),
              h("td.nowrap", {}, fmtTime(tk.opened_at)),
              h("td.num", {}, tk.occurrences ?? 1))))));
    } catch (e) {
      mount(list, h("p.error", {}, t("error.load", { msg: e.message })));
    }
  }

  mount(root, h("section.view.queue", {}, h("h1", {}, t("queue.title")),
    currentMe()?.role === "crew" ? h("p.muted.small.queue-order", {}, t("queue.mine")) : null, bar, list));
  drawBar();
  loadSensors().then((s) => { grids = gridsOf(s); sensorsById = Object.fromEntries(s.map((x) => [x.id, x])); drawBar(); }).catch(() => {});
  refresh();
  return { onEvent: () => refresh() };
}
