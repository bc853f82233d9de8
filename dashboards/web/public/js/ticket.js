// One ticket: its facts, the timeline, a chart of the metric around the breach, the crew's
// actions (POST ack / comments / resolve) and the sensor's maintenance windows. Officers see the same page; the server refuses them
// with 403 and the page says so.

import { api, imageUrl, query } from "./api.js";
import { drawChart, toSeries } from "./chart.js";
import { deliveriesPanel } from "./deliveries.js";
import { h, mount } from "./dom.js";
import { fmtTime, pick, t } from "./i18n.js";
import { maintenancePanel } from "./maintenance.js";
import { currentMe, may } from "./me.js";
import { dismiss, entries, flush, onOutboxChange, send } from "./outbox.js";
import { badge, ticketSummary } from "./queue.js";
import { shrinkAll } from "./shrink.js";
import { loadCatalog, loadSensors, metricInfo, metricLabel } from "./site.js";
import { everyFor, iso, toMs } from "./timeparams.js";

const BEFORE_MS = 6 * 3600 * 1000;
const AFTER_MS = 2 * 3600 * 1000;
const PAGE = 50; // timeline lines per "older entries" click

// The ticket read carries only the newest lines of the timeline (`events`) and a cursor for the
// older ones (`events_next`); GET /tickets/{id}/events?before=…&limit=… pages back from there.
// Older pages the user has opened are kept across reloads (a live event reloads the ticket).
export function mergeTimeline(older, recent) {
  const first = recent.length ? recent[0].id : Infinity;
  return [...older.filter((ev) => ev.id < first), ...recent];
}

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
  const photoBox = h("div.photos");
  const pendingBox = h("ul.outbox");
  const mapLink = h("p.map-link");
  const reportsBox = h("div.resident-reports");
  const deliveries = deliveriesPanel(id);
  let chart = null;
  let drawnFor = null;
  let older = []; // pages loaded with "older entries", oldest first
  let olderNext = undefined; // cursor of the page before `older` (undefined: none loaded yet)
  let recent = [];
  let recentNext = null;
  let total = 0;
  let loaded = false;

  mount(root,
    h("section.view.ticket", { "data-ticket": id },
      h("a.back", { href: "#/queue" }, t("ticket.back")),
      head,
      h("div.two-col", {},
        h("div", {}, actions, note, pendingBox, mapLink, facts, reportsBox, photoBox, h("h2", {}, t("ticket.timeline")), timeline, deliveries.el, maintBox),
        h("div", {}, chartTitle, chartBox))));

  // Every action goes through the outbox: sent now, or kept on the phone while offline.
  async function act(kind, body, files = []) {
    note.textContent = "";
    note.className = "action-result";
    try {
      const small = files.length ? await shrinkAll(files, currentMe()?.photo_max_side_px) : files;
      const r = await send({ ticket: Number(id), kind, body, files: small });
      if (kind === "comment") comment.value = "";
      if (kind === "resolve") { resolveNote.value = ""; resolvePhotos.value = ""; }
      if (kind === "photo") addPhoto.value = "";
      note.textContent = r.queued ? t("outbox.queued") : t("action.done");
      if (r.sent) await load();
    } catch (e) {
      note.classList.add("error");
      note.textContent = e.status === 403 ? t("error.forbidden")
        : e.status === 429 ? t("error.too_many")
          : e.status === 409 ? `${t("outbox.conflict")}: ${e.message}`
            : e.status === 413 || e.status === 415 ? t("photo.refused", { msg: e.message })
              : t("error.load", { msg: e.message });
    }
  }

  function position() {
    if (!navigator.geolocation) return Promise.resolve(undefined);
    return new Promise((resolve) =>
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude }),
        () => resolve(undefined),
        { timeout: 4000, maximumAge: 60000 }));
  }

  // Made once: a reload on a live event redraws the buttons but keeps what is being typed.
  const comment = h("input.comment-text", { type: "text", maxlength: 2000, placeholder: t("ticket.comment_placeholder"), "aria-label": t("ticket.comment") });
  const resolveNote = h("input.resolve-note", { type: "text", maxlength: 2000, placeholder: t("ticket.resolve_placeholder"), "aria-label": t("ticket.resolve") });
  const PHOTO_TYPES = "image/jpeg,image/png,image/webp";
  const resolvePhotos = h("input.resolve-photo", { type: "file", accept: PHOTO_TYPES, capture: "environment", multiple: true, "aria-label": t("photo.with_resolve") });
  const addPhoto = h("input.add-photo", { type: "file", accept: PHOTO_TYPES, capture: "environment", "aria-label": t("photo.add"),
    onchange: () => { if (addPhoto.files.length) act("photo", undefined, [...addPhoto.files]); } });

  function drawActions(tk) {
    const done = tk.status === "resolved";
    if (!may("write")) {
      mount(actions, h("p.muted.read-only", {}, t("ticket.read_only")));
      return;
    }
    mount(actions,
      h("div.big-actions", {},
        h("button.ack.big", { type: "button", disabled: tk.status !== "open", onclick: () => act("ack") }, t("ticket.ack")),
        may("arrive")
          ? h("button.arrive.big", { type: "button", disabled: done, onclick: async () => act("arrive", await position()) }, t("ticket.arrive"))
          : null),
      h("form.inline.comment-form", { onsubmit: (e) => { e.preventDefault(); if (comment.value.trim()) act("comment", { text: comment.value.trim() }); } },
        comment, h("button.comment", { type: "submit" }, t("ticket.comment"))),
      h("label.photo-pick", {}, h("span", {}, t("photo.add")), addPhoto),
      h("form.resolve-form", { onsubmit: (e) => { e.preventDefault(); act("resolve", { note: resolveNote.value.trim() }, [...resolvePhotos.files]); } },
        resolveNote,
        h("label.photo-pick", {}, h("span", {}, t("photo.with_resolve")), resolvePhotos),
        h("button.resolve.big", { type: "submit", disabled: done }, t("ticket.resolve"))));
  }

  async function drawPending() {
    const mine = (await entries().catch(() => [])).filter((e) => String(e.ticket) === String(id));
    mount(pendingBox, mine.map((e) =>
      h(`li.outbox-entry.${e.state}`, { "data-state": e.state, "data-kind": e.kind },
        h("strong", {}, t(`outbox.${e.state}`)), " ", t(`outbox.kind.${e.kind}`),
        e.error ? h("div.small", {}, e.error) : null,
        e.state !== "pending" ? h("button.dismiss", { type: "button", onclick: () => dismiss(e.seq) }, t("outbox.dismiss")) : null)));
  }

  // Residents' reports: what they saw, and their phone number for the grid's crew only.
  async function drawReports() {
    let rows;
    try {
      rows = await api(`/tickets/${encodeURIComponent(id)}/reports`);
    } catch {
      return;
    }
    mount(reportsBox, h("h2", {}, t("event.reported")), h("ul.reports", {}, rows.map((r) =>
      h("li.report", { "data-report": r.id }, h("span.when", {}, fmtTime(r.at)), " ", pick(r, "what"),
        r.phone ? [" · ", h("a.phone", { href: `tel:${r.phone.replace(/[^0-9+]/g, "")}` }, r.phone)] : null))));
  }

  async function drawPhotos(tk) {
    const photos = tk.photos ?? [];
    mount(photoBox, photos.length ? [h("h2", {}, t("photo.title", { n: photos.length })),
      h("div.photo-strip", {}, photos.map((p) => {
        const img = h("img.photo-thumb", { alt: t("photo.alt", { id: p.id }), "data-photo": p.id, width: 96, height: 96 });
        imageUrl(`/photos/${p.id}?size=thumb`).then((u) => { img.src = u; }).catch(() => {});
        return h("a.photo-link", { href: "#", onclick: async (e) => { e.preventDefault(); window.open(await imageUrl(`/photos/${p.id}`), "_blank"); } }, img);
      }))] : null);
  }

  async function drawMapLink(tk) {
    const s = (await loadSensors().catch(() => [])).find((x) => x.id === tk.sensor);
    const loc = s?.location;
    if (!loc) return;
    const label = encodeURIComponent(s.asset || s.id);
    mount(mapLink,
      h("a.geo", { href: `geo:${loc.lat},${loc.lon}?q=${loc.lat},${loc.lon}(${label})` }, t("ticket.open_map")),
      " · ",
      h("a.web-map", { href: `https://www.openstreetmap.org/?mlat=${loc.lat}&mlon=${loc.lon}#map=18/${loc.lat}/${loc.lon}`, target: "_blank", rel: "noopener" }, t("ticket.web_map")));
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
      // offline with the ticket already shown: keep it (the outbox says what waits)
      if (e.status === 0 && loaded) return;
      mount(head, h("p.error", {}, t("error.load", { msg: e.message })));
      return;
    }
    loaded = true;
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
    drawPhotos(tk);
    drawPending();
    if (!mapLink.firstChild) drawMapLink(tk);
    if (tk.rule === "resident.report") drawReports();
    // a community.silent ticket names a community, which has no maintenance windows of its own
    if (tk.kind !== "community" && !maintBox.firstChild) mount(maintBox, maintenancePanel(tk.sensor));
    recent = tk.events ?? [];
    recentNext = tk.events_next ?? null;
    total = tk.event_count ?? recent.length;
    await fillGap();
    drawTimeline();
    deliveries.load();
    drawMetric(tk);
  }

  function drawTimeline() {
    const events = mergeTimeline(older, recent);
    const next = olderNext === undefined ? recentNext : olderNext;
    const more = next == null ? null
      : h("li.more", {}, h("button.more-events", { type: "button", onclick: loadOlder }, t("ticket.older", { n: Math.max(0, total - events.length) })));
    mount(timeline, events.length
      ? [more, ...events.map((ev) =>
          h("li", { "data-event": ev.kind ?? ev.type ?? "", "data-id": ev.id },
            h("span.when", {}, fmtTime(ev.at ?? ev.time ?? ev.created_at)),
            h("strong", {}, eventLabel(ev)),
            ev.by || ev.actor ? h("span.who", {}, ` · ${ev.by ?? ev.actor}`) : null,
            eventText(ev) ? h("div.event-text", {}, ev.kind === "on_site" ? t("ticket.at_position", { pos: eventText(ev) }) : eventText(ev)) : null,
            (ev.photos ?? []).length ? h("div.event-photos", {}, ev.photos.map((pid) => {
              const img = h("img.timeline-photo", { alt: t("photo.alt", { id: pid }), "data-photo": pid, width: 64, height: 64 });
              imageUrl(`/photos/${pid}?size=thumb`).then((u) => { img.src = u; }).catch(() => {});
              return img;
            })) : null))]
      : h("li.muted", {}, t("empty")));
  }

  // More lines arrived than the newest page holds while older pages are open: fetch the ones
  // between, so the timeline shown has no hole.
  async function fillGap() {
    const newestOlder = older.length ? older[older.length - 1].id : null;
    let before = recentNext;
    while (newestOlder != null && before != null && before > newestOlder + 1) {
      let page;
      try {
        page = await api(`/tickets/${encodeURIComponent(id)}/events${query({ before, limit: PAGE })}`);
      } catch {
        return;
      }
      const lines = page.events ?? [];
      recent = [...lines.filter((ev) => ev.id > newestOlder), ...recent];
      if (!lines.length || lines[0].id <= newestOlder) return;
      before = page.next ?? null;
    }
  }

  async function loadOlder() {
    const before = olderNext === undefined ? recentNext : olderNext;
    if (before == null) return;
    try {
      const page = await api(`/tickets/${encodeURIComponent(id)}/events${query({ before, limit: PAGE })}`);
      older = [...(page.events ?? []), ...older];
      olderNext = page.next ?? null;
      drawTimeline();
    } catch (e) {
      note.classList.add("error");
      note.textContent = t("error.load", { msg: e.message });
    }
  }

  const stopOutbox = onOutboxChange(() => { drawPending(); load(); });
  load();
  flush();
  return {
    ticket: id,
    onEvent: (ev) => {
      const tid = ev.ticket_id ?? ev.ticket?.id ?? ev.id;
      if (String(tid) === String(id)) load();
    },
    destroy: () => { chart?.destroy(); stopOutbox(); },
  };
}
