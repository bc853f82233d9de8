// Notification deliveries: a ticket's attempts per channel (GET /tickets/{id}/deliveries) as a
// panel on the ticket page, and the admins' page of failing channels (GET /notify/channels),
// failing ones first. Officers and crews get no link to that page; the server answers 403.

import { api } from "./api.js";
import { h, mount } from "./dom.js";
import { fmtTime, t } from "./i18n.js";

const answer = (a) => [a.code != null && a.code !== "0" ? h("code.answer-code", {}, a.code) : null, a.message ? ` ${a.message}` : ""];

/** The deliveries panel of one ticket: an element and `load()` to (re)fill it. */
export function deliveriesPanel(id) {
  const box = h("section.deliveries", { "data-ticket": id });
  async function load() {
    let d;
    try {
      d = await api(`/tickets/${encodeURIComponent(id)}/deliveries`);
    } catch (e) {
      mount(box, h("h2", {}, t("deliveries.title")), h("p.error", {}, t("error.load", { msg: e.message })));
      return;
    }
    mount(box, h("h2", {}, t("deliveries.title")), d.channels.length
      ? d.channels.map((c) =>
          h("div.delivery-channel", { "data-channel": c.channel, "data-state": c.state },
            h("h3", {}, h("span.channel-id", {}, c.channel), " ", c.type ? h("span.muted.small", {}, t(`channel.${c.type}`)) : null, " ",
              h(`span.outcome.${c.state}`, {}, t(`outcome.${c.state}`))),
            h("ol.attempts", {}, c.attempts.map((a) =>
              h("li.attempt", { "data-outcome": a.outcome, "data-attempt": a.attempt },
                h("span.when", {}, fmtTime(a.at)),
                h(`span.outcome.${a.outcome}`, {}, t(`outcome.${a.outcome}`)),
                h("span.attempt-no", {}, t("deliveries.attempt", { n: a.attempt })),
                h("span.event", {}, t(`event.${a.event}`)),
                a.grouped ? h("span.muted.small", {}, t("deliveries.grouped", { n: a.grouped })) : null,
                h("span.answer", {}, answer(a))))),
            c.pending.length ? h("ul.pending", {}, c.pending.map((p) =>
              h("li.pending-row", {}, t("deliveries.pending", { when: fmtTime(p.due_at), n: p.attempts }), p.last_error ? h("span.answer", {}, ` ${p.last_error}`) : null))) : null))
      : h("p.muted.no-deliveries", {}, t("deliveries.none")));
  }
  return { el: box, load };
}

/** #/channels — admins: each channel's recent outcomes, failing first. */
export function renderChannels(root) {
  const body = h("div.channels-body", {}, h("p.muted", {}, t("loading")));
  mount(root, h("section.view.channels", {}, h("h1", {}, t("channels.title")), h("p.muted", {}, t("channels.hint")), body));
  async function load() {
    let d;
    try {
      d = await api("/notify/channels");
    } catch (e) {
      mount(body, h("p.error", {}, e.status === 403 ? t("error.forbidden") : t("error.load", { msg: e.message })));
      return;
    }
    if (!d.channels.length) return mount(body, h("p.muted", {}, t("empty")));
    mount(body,
      h("p.channels-summary", {}, t("channels.summary", { n: d.count, failing: d.failing })),
      h("table.channels-table", {},
        h("thead", {}, h("tr", {}, ["channels.col.channel", "channels.col.state", "outcome.sent", "outcome.failed", "outcome.pending", "channels.col.last_error", "channels.col.last_success"].map((k) => h("th", {}, t(k))))),
        h("tbody", {}, d.channels.map((c) =>
          h(`tr.channel-row${c.failing ? ".failing" : ""}`, { "data-channel": c.channel, "data-failing": c.failing ? "yes" : "no" },
            h("td", {}, h("strong", {}, c.channel), " ", c.type ? h("span.muted.small", {}, t(`channel.${c.type}`)) : null,
              c.configured ? null : h("span.muted.small", {}, ` · ${t("channels.removed")}`)),
            h("td", {}, h(`span.outcome.${c.failing ? "failed" : "sent"}`, {}, t(c.failing ? "channels.failing" : "channels.ok"))),
            h("td.num.sent", {}, c.sent),
            h("td.num.failed", {}, c.failed),
            h("td.num.pending", {}, c.pending, c.retrying ? h("span.muted.small", {}, ` (${t("channels.retrying", { n: c.retrying })})`) : null),
            h("td.last-error", {}, c.last_error ? [h("span.answer", {}, c.last_error), c.last_error_at ? h("div.small.muted", {}, fmtTime(c.last_error_at)) : null,
              c.last_ticket ? h("div.small", {}, h("a", { href: `#/ticket/${c.last_ticket}` }, `#${c.last_ticket}`)) : null] : "–"),
            h("td.last-success", {}, c.last_success_at ? fmtTime(c.last_success_at) : t("channels.never")))))));
  }
  load();
  return { onEvent: (ev) => { if ((ev.event ?? ev.kind) === "notified") load(); } };
}
