// Maintenance windows of one sensor, shown on its map panel and on its tickets: the current
// windows (GET /maintenance?sensor=&current=true), a form to mark it under maintenance until a
// time with a note (POST /maintenance), and an end button per window (DELETE /maintenance/ID).
// While a window is on, the hub's rules raise no new tickets for the sensor. The server decides
// who may write (the sensor's grid crew or an admin); a refusal is shown, not hidden.

import { api, query } from "./api.js";
import { h, mount } from "./dom.js";
import { fmtTime, t } from "./i18n.js";
import { may } from "./me.js";

const DEFAULT_HOURS = 4;

/** A `datetime-local` value (local wall time, minutes) for epoch ms. */
function localInput(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function failure(e) {
  if (e.status === 403) return t("error.forbidden");
  return t("error.load", { msg: e.message });
}

/**
 * A section for `sensor` that loads itself; `onChange` runs after a window is set or ended
 * (the map redraws its markers). Call `.refresh()` on it after outside changes.
 */
export function maintenancePanel(sensor, { onChange } = {}) {
  const list = h("ul.windows", {}, h("li.muted", {}, t("loading")));
  const note = h("p.maint-result", { role: "status" });
  const end = h("input.maint-end", {
    type: "datetime-local", required: true, "aria-label": t("maint.until"),
    value: localInput(Date.now() + DEFAULT_HOURS * 3600 * 1000),
  });
  const text = h("input.maint-note", { type: "text", maxlength: 500, placeholder: t("maint.note_placeholder"), "aria-label": t("maint.note") });

  function say(message, error = false) {
    note.textContent = message;
    note.className = `maint-result${error ? " error" : ""}`;
  }

  async function load() {
    let data;
    try {
      data = await api(`/maintenance${query({ sensor, current: "true" })}`);
    } catch (e) {
      mount(list, h("li.error", {}, failure(e)));
      return;
    }
    const windows = data?.windows ?? [];
    mount(list, windows.length
      ? windows.map((w) =>
          h("li.window", { "data-window": w.id, "data-active": w.active ? "yes" : "no" },
            h("div", {}, h("strong", {}, w.active ? t("maint.on") : t("maint.planned")), " ",
              t("maint.span", { start: fmtTime(w.start), end: fmtTime(w.end) })),
            w.note ? h("div.window-note", {}, w.note) : null,
            h("div.muted.small", {}, t("maint.by", { who: w.created_by }),
              w.suppressed ? ` · ${t("maint.suppressed", { n: w.suppressed })}` : ""),
            may("write") ? h("button.maint-stop", { type: "button", onclick: () => stop(w.id) }, t("maint.end")) : null))
      : h("li.muted.none", {}, t("maint.none")));
  }

  async function create(e) {
    e.preventDefault();
    const until = new Date(end.value);
    if (!end.value || Number.isNaN(until.getTime())) {
      say(t("maint.bad_time"), true);
      return;
    }
    try {
      await api("/maintenance", { method: "POST", body: { sensor, end: until.toISOString(), note: text.value.trim() } });
      text.value = "";
      say(t("maint.created"));
      onChange?.();
    } catch (ex) {
      say(ex.status === 422 ? t("error.load", { msg: ex.message }) : failure(ex), true);
    }
    await load();
  }

  async function stop(id) {
    try {
      await api(`/maintenance/${id}`, { method: "DELETE" });
      say(t("maint.ended"));
      onChange?.();
    } catch (ex) {
      say(failure(ex), true);
    }
    await load();
  }

  const section = h("section.maintenance", { "data-sensor": sensor },
    h("h3", {}, t("maint.title")),
    h("p.muted.small", {}, t("maint.hint")),
    list,
    may("write")
      ? h("form.maint-form", { onsubmit: create },
        h("label", {}, t("maint.until"), end),
        h("label", {}, t("maint.note"), text),
        h("button.maint-start", { type: "submit" }, t("maint.start")))
      : null,
    note);
  section.refresh = load;
  load();
  return section;
}
