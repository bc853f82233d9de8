// One sensor (a label's QR code opens /s/<id>, which lands here once signed in): its state,
// last reading and open tickets (GET /api/v1/sensors/{id}), and a link to its position.

import { api } from "./api.js";
import { h, mount } from "./dom.js";
import { fmtTime, t } from "./i18n.js";
import { badge, ticketSummary } from "./queue.js";
import { loadCatalog, metricLabel, metricInfo } from "./site.js";

export function renderSensor(root, { id }) {
  const box = h("div", {}, h("p.muted", {}, t("loading")));
  mount(root, h("section.view.sensor-view", { "data-sensor": id }, h("a.back", { href: "#/queue" }, t("ticket.back")), box));

  async function load() {
    let s;
    try {
      await loadCatalog();
      s = await api(`/sensors/${encodeURIComponent(id)}`);
    } catch (e) {
      mount(box, h("p.error", {}, t("error.load", { msg: e.message })));
      return;
    }
    const reading = Object.entries(s.last_reading ?? {}).filter(([k]) => metricInfo(s.kind, k).zh !== k || typeof s.last_reading[k] === "number");
    const loc = s.location;
    mount(box,
      h("h1", {}, t("sensor.title", { id: s.id }), " ", h("span.sensor-state", { "data-state": s.state }, s.state)),
      h("p", {}, [s.community_name, s.grid_name, s.asset].filter(Boolean).join(" · ")),
      loc ? h("p.map-link", {}, h("a.geo", { href: `geo:${loc.lat},${loc.lon}?q=${loc.lat},${loc.lon}` }, t("ticket.open_map"))) : null,
      h("h2", {}, t("sensor.last"), s.last_reading_at ? h("span.muted.small", {}, ` ${fmtTime(s.last_reading_at)}`) : null),
      reading.length
        ? h("dl.facts.last-reading", {}, reading.map(([k, v]) => [h("dt", {}, metricLabel(s.kind, k)), h("dd", {}, `${v} ${metricInfo(s.kind, k).unit ?? ""}`.trim())]))
        : h("p.muted", {}, t("empty")),
      h("h2", {}, t("sensor.open")),
      (s.open_tickets ?? []).length
        ? h("ul.queue-cards.sensor-tickets", {}, s.open_tickets.map((tk) =>
          h("li", {}, h(`a.queue-card.${tk.severity}`, { href: `#/ticket/${tk.id}`, "data-ticket": tk.id },
            h("div.card-top", {}, h("strong", {}, `#${tk.id}`), badge("severity", tk.severity), badge("status", tk.status)),
            h("div.card-summary", {}, ticketSummary(tk))))))
        : h("p.muted.none", {}, t("sensor.none")));
  }
  load();
  return { onEvent: () => load() };
}
