// One ticket: its facts, the timeline, a chart of the metric around the breach, the crew's
// actions (POST ack / comments / resolve) and the sensor's maintenance windows. Officers see the same page; the server refuses them
// with 403 and the page says so.

import { api, query } from "./api.js";
import { drawChart, toSeries } from "./chart.js";
import { h, mount } from "./dom.js";
import { fmtTime, pick, t } from "./i18n.js";
import { maintenancePanel } from "./maintenance.js";
import { badge, ticketSummary } from "./queue.js";
import { loadCatalog, loadSensors, metricInfo, metricLabel } from "./site.js";
import { everyFor, iso, toMs } from "./timeparams.js";

const BEFORE_MS = 6 * 3600 * 1000;
const AFTER_MS = 2 * 3600 * 1000;

function eventLabel(ev) {
  const kind = ev.kind ?? ev.type ?? ev.event ?? ev.action ?? "";
  const key = `event.${kind}`;
  const txt = t(key);
  return txt === key ? kind : txt;
}

function eventText(ev) {
  if (ev.text_zh || ev.text_en) return pick(ev, "text");
  if (ev.message && typeof ev.message === "object") return pick(ev.message);
  return ev.text ?? ev.note ?? ev.comment ?? ev.message ?? ev.detail ?? "";
}

export function renderTicket(root, { id, go }) {
  const head = h("div.ticket-head", {}, h("p.muted", {}, t("loading")));
  const facts = h("dl.facts");
  const actions = h("div.actions");
  const note = h("p.action-result", { role: "status" });
  const timeline = h("ol.timeline");
  const chartBox = h("div.chart");
  const chartTitle = h("h2");
  const maintBox = h("div.ticket-maintenance");
  let chart = null;
  let drawnFor = null;

  mount(root,
    h("section.view.ticket", { "data-ticket": id },
      h("a.back", { href: "#/queue" }, t("ticket.back")),
      head,
      h("div.two-col", {},
        h("div", {}, facts, actions, note, h("h2", {}, t("ticket.timeline")), timeline, maintBox),
        h("div", {}, chartTitle, chartBox))));

  async function act(path, body) {
    note.textContent = "";
    note.className = "action-result";
    try {
      await api(`/tickets/${id}/${path}`, { method: "POST", body });
      if (path === "comments") comment.value = "";
      if (path === "resolve") resolveNote.value = "";
      note.textContent = t("action.done");
      await load();
    } catch (e) {
      note.classList.add("error");
      note.textContent = e.status === 403 ? t("error.forbidden") : t("error.load", { msg: e.message });
    }
  }

  // Made once: a reload on a live event redraws the buttons but keeps what is being typed.
  const comment = h("input.comment-text", { type: "text", placeholder: t("ticket.comment_placeholder"), "aria-label": t("ticket.comment") });
  const resolveNote = h("input.resolve-note", { type: "text", placeholder: t("ticket.resolve_placeholder"), "aria-label": t("ticket.resolve") });

  function drawActions(tk) {
    const done = tk.status === "resolved";
    mount(actions,
      h("button.ack", { type: "button", disabled: tk.status !== "open", onclick: () => act("ack") }, t("ticket.ack")),
      h("form.inline", { onsubmit: (e) => { e.preventDefault(); if (comment.value.trim()) act("comments", { text: comment.value.trim() }); } },
        comment, h("button.comment", { type: "submit" }, t("ticket.comment"))),
      h("form.inline", { onsubmit: (e) => { e.preventDefault(); act("resolve", { note: resolveNote.value.trim() }); } },
        resolveNote, h("button.resolve", { type: "submit", disabled: done }, t("ticket.resolve"))));
  }

  async function drawMetric(tk) {
    await loadCatalog();
    let kind = tk.kind;
    if (!["pond", "water", "power", "sewer"].includes(kind)) {
      const s = (await loadSensors().catch(() => [])).find((x) => x.id === tk.sensor);
      kind = s?.kind ?? kind;
    }
    if (!tk.metric) {
      chartTitle.textContent = "";
      mount(chartBox, h("p.muted", {}, t("ticket.no_metric")));
      return;
    }
    chartTitle.textContent = t("ticket.chart", { metric: metricLabel(kind, tk.metric) });
    const opened = toMs(tk.opened_at) ?? Date.now();
    const end = toMs(tk.resolved_at) ?? toMs(tk.updated_at) ?? Date.now();
    const start = opened - BEFORE_MS;
    const stop = Math.min(Date.now(), Math.max(end, opened) + AFTER_MS);
    const key = `${tk.sensor}/${tk.metric}/${start}/${stop}`;
    if (key === drawnFor) return;
    drawnFor = key;
    const q = query({ sensor: tk.sensor, metric: tk.metric, start: iso(start), stop: iso(stop), every: everyFor(start, stop), agg: "mean" });
    try {
      const data = await api(`/series${q}`);
      chart?.destroy();
      chart = await drawChart(chartBox, { series: toSeries(data), kind, metric: tk.metric, unit: metricInfo(kind, tk.metric).unit, marker: opened / 1000 });
    } catch (e) {
      drawnFor = null;
      mount(chartBox, h("p.error", {}, e.status === 404 ? t("error.unavailable") : t("error.load", { msg: e.message })));
    }
  }

  async function load() {
    let tk;
    try {
      tk = await api(`/tickets/${encodeURIComponent(id)}`);
    } catch (e) {
      mount(head, h("p.error", {}, t("error.load", { msg: e.message })));
      return;
    }
    mount(head,
      h("h1", {}, t("ticket.title", { id: tk.id }), " ", badge("severity", tk.severity), " ",
        h("span.ticket-status", { "data-status": tk.status }, badge("status", tk.status)),
        tk.recovered ? h("span.muted.small", {}, ` ${t("queue.recovered")}`) : null),
      h("p.summary", {}, ticketSummary(tk)));
    const row = (k, v) => (v == null || v === "" ? null : [h("dt", {}, k), h("dd", {}, v)]);
    mount(facts,
      row(t("col.sensor"), tk.sensor),
      row(t("ticket.rule"), tk.rule),
      row(t("ticket.metric"), tk.metric),
      row(t("col.grid"), tk.grid),
      row(t("col.assignee"), tk.assignee_name || tk.assignee),
      row(t("col.opened"), fmtTime(tk.opened_at)),
      row(t("col.updated"), fmtTime(tk.updated_at)),
      row(t("ticket.resolved_at"), fmtTime(tk.resolved_at)),
      row(t("ticket.values"), [tk.first_value, tk.peak_value, tk.last_value].map((v) => v ?? "–").join(" / ")),
      row(t("col.occurrences"), tk.occurrences),
      tk.linked_to || tk.previous_id
        ? row(t("ticket.linked"), h("a", { href: `#/ticket/${tk.linked_to ?? tk.previous_id}` }, `#${tk.linked_to ?? tk.previous_id}`))
        : null);
    drawActions(tk);
    // a community.silent ticket names a community, which has no maintenance windows of its own
    if (tk.kind !== "community" && !maintBox.firstChild) mount(maintBox, maintenancePanel(tk.sensor));
    const events = tk.events ?? [];
    mount(timeline, events.length
      ? events.map((ev) =>
          h("li", { "data-event": ev.kind ?? ev.type ?? "" },
            h("span.when", {}, fmtTime(ev.at ?? ev.time ?? ev.created_at)),
            h("strong", {}, eventLabel(ev)),
            ev.by || ev.actor ? h("span.who", {}, ` · ${ev.by ?? ev.actor}`) : null,
            eventText(ev) ? h("div.event-text", {}, eventText(ev)) : null))
      : h("li.muted", {}, t("empty")));
    drawMetric(tk);
  }

  load();
  return {
    onEvent: (ev) => {
      const tid = ev.ticket_id ?? ev.ticket?.id ?? ev.id;
      if (String(tid) === String(id)) load();
    },
    destroy: () => chart?.destroy(),
  };
}
