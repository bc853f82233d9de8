// Dialogs of the registry pages: an entity form whose fields are named by the API's own field
// paths ("interval_s", "location.lat"), so a 422 line naming a field lands next to that input
// and a 409 (a duplicate id) next to the id; a yes/no confirmation; and the once-only
// credentials of a sensor's broker login with a copy button.

import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

function openDialog(cls, ...children) {
  const dlg = h(`dialog.${cls}`, {}, ...children);
  document.body.append(dlg);
  dlg.addEventListener("close", () => dlg.remove());
  dlg.showModal();
  return dlg;
}

/** Ask a yes/no question in a dialog; resolves true on yes. */
export function confirmDialog(text, { yes = t("reg.confirm"), danger = false } = {}) {
  return new Promise((resolve) => {
    let answer = false;
    const dlg = openDialog("confirm",
      h("p.confirm-text", {}, text),
      h("div.dialog-buttons", {},
        h("button.cancel", { type: "button", onclick: () => dlg.close() }, t("reg.cancel")),
        h(`button.yes${danger ? ".danger" : ""}`, { type: "button", onclick: () => { answer = true; dlg.close(); } }, yes)));
    dlg.addEventListener("close", () => resolve(answer));
  });
}

const valueOf = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);

function setPath(obj, path, v) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys.at(-1)] = v;
}

function control(f, initial) {
  const v = valueOf(initial, f.name);
  const common = { name: f.name, id: `f-${f.name.replace(/\W/g, "-")}`, disabled: f.readonly || null };
  if (f.type === "select") {
    return h("select", common, f.options.map(([val, label]) => h("option", { value: val, selected: String(v ?? "") === String(val) || null }, label)));
  }
  if (f.type === "multi") {
    const chosen = new Set(v ?? []);
    return h("select", { ...common, multiple: true, size: Math.min(5, Math.max(2, f.options.length)) },
      f.options.map(([val, label]) => h("option", { value: val, selected: chosen.has(val) || null }, label)));
  }
  return h("input", { ...common, type: f.type === "number" ? "number" : "text", step: f.type === "number" ? "any" : null,
    value: v ?? "", placeholder: f.placeholder ?? null, autocomplete: "off" });
}

function read(f, el) {
  if (f.type === "multi") return [...el.selectedOptions].map((o) => o.value);
  const raw = el.value.trim();
  if (f.type === "number") return raw === "" ? null : Number(raw);
  return raw;
}

/** Where a 422 line belongs: the input named by its field, by the nearest enclosing path
 * ("location" → "location.lat"), or by the path it is part of ("grids.0" → "grids"). */
function fieldFor(names, field) {
  if (!field) return null;
  if (names.includes(field)) return field;
  const inside = names.find((n) => n.startsWith(`${field}.`));
  if (inside) return inside;
  return names.filter((n) => field.startsWith(`${n}.`)).sort((a, b) => b.length - a.length)[0] ?? null;
}

/** The message of a 422 line without its "sensor 'x', field 'y': " prefix (the place shows it). */
function lineText(d) {
  return String(d?.msg ?? "").replace(/^.*?, field '[^']*': /, "");
}

/**
 * A modal form for one entity. `fields`: [{name, label, type: text|number|select|multi,
 * options, readonly, optional}]; `initial` the entity as GET /site shows it (null: a new one).
 * `send(body)` calls the API: for a new entity the body has every non-empty field, for an
 * edit only the fields that changed. `onDone(answer)` runs after a success.
 */
export function entityForm({ title, cls, fields, initial = null, send, onDone }) {
  const inputs = new Map();
  const errors = new Map();
  const formError = h("p.error.form-error", { role: "alert" });
  const rows = fields.map((f) => {
    const el = control(f, initial ?? f.defaults ?? {});
    inputs.set(f.name, el);
    const err = h("span.error.field-error", { "data-field": f.name, role: "alert" });
    errors.set(f.name, err);
    return h("div.form-row", { "data-field": f.name }, h("label", { for: el.id }, f.label), el, err);
  });
  const names = fields.map((f) => f.name);
  const save = h("button.save", { type: "submit" }, t("reg.save"));

  function body() {
    const out = {};
    for (const f of fields) {
      if (f.readonly) continue;
      const v = read(f, inputs.get(f.name));
      if (initial) {
        if (JSON.stringify(v ?? null) === JSON.stringify(valueOf(initial, f.name) ?? (f.type === "multi" ? [] : f.type === "number" ? null : ""))) continue;
      } else if (v === null || v === "" || (Array.isArray(v) && !v.length)) continue;
      setPath(out, f.name, v);
    }
    // A location is sent whole (PATCH replaces it), or null when both halves were cleared.
    if (names.includes("location.lat") && (out.location || !initial)) {
      const lat = read({ type: "number" }, inputs.get("location.lat"));
      const lon = read({ type: "number" }, inputs.get("location.lon"));
      if (lat === null && lon === null) {
        if (initial) out.location = null;
        else delete out.location;
      } else out.location = { lat, lon };
    }
    return out;
  }

  function showError(e) {
    for (const err of errors.values()) err.textContent = "";
    formError.textContent = "";
    if (!(e instanceof ApiError)) {
      formError.textContent = t("error.load", { msg: e.message });
      return;
    }
    if (e.status === 422 && Array.isArray(e.detail)) {
      const loose = [];
      for (const d of e.detail) {
        const at = fieldFor(names, d.field ?? (Array.isArray(d.loc) ? d.loc.slice(d.id ? 3 : 2).join(".") : null));
        if (at) errors.get(at).textContent = [errors.get(at).textContent, lineText(d)].filter(Boolean).join("; ");
        else loose.push(d.msg);
      }
      if (loose.length) formError.textContent = loose.join("; ");
      inputs.get(names.find((n) => errors.get(n).textContent))?.focus();
    } else if (e.status === 409 && inputs.has("id")) {
      errors.get("id").textContent = `${t("reg.duplicate")} (${e.message})`;
      inputs.get("id").focus();
    } else if (e.status === 403) {
      formError.textContent = t("error.forbidden");
    } else {
      formError.textContent = t("error.load", { msg: e.message });
    }
  }

  const form = h(`form.entity-form${cls ? `.${cls}` : ""}`, {
    method: "dialog", novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      const b = body();
      if (initial && !Object.keys(b).length) {
        dlg.close();
        return;
      }
      save.disabled = true;
      try {
        const answer = await send(b);
        dlg.close();
        onDone?.(answer);
      } catch (e) {
        showError(e);
      } finally {
        save.disabled = false;
      }
    },
  },
  h("h2", {}, title),
  rows,
  formError,
  h("div.dialog-buttons", {},
    h("button.cancel", { type: "button", onclick: () => dlg.close() }, t("reg.cancel")),
    save));
  const dlg = openDialog("entity", form);
  (initial ? [...inputs.values()].find((el) => !el.disabled) : inputs.values().next().value)?.focus();
  return dlg;
}

/**
 * The broker login of a new sensor or a rotation: username and password shown this once, a
 * copy button, a warning that the password is not shown again. The dialog (and with it the
 * password) leaves the page when closed. Without credentials (the hub manages no broker
 * logins) it says why instead.
 */
export function credentialsDialog(sensor, credentials, problem = "") {
  const copied = h("span.copy-result", { role: "status" });
  const body = credentials
    ? [
        h("dl.facts.cred-facts", {},
          h("dt", {}, t("cred.username")), h("dd", {}, h("code.cred-username", {}, credentials.username)),
          h("dt", {}, t("cred.password")), h("dd", {}, h("code.cred-password", {}, credentials.password))),
        h("div.copy-row", {},
          h("button.copy", {
            type: "button",
            onclick: async () => {
              try {
                await navigator.clipboard.writeText(credentials.password);
                copied.textContent = t("cred.copied");
              } catch {
                const range = document.createRange();
                range.selectNodeContents(dlg.querySelector(".cred-password"));
                getSelection().removeAllRanges();
                getSelection().addRange(range);
                copied.textContent = t("cred.copy_by_hand");
              }
            },
          }, t("cred.copy")),
          copied),
        h("p.cred-warning", { role: "note" }, t("cred.once")),
      ]
    : [h("p.cred-warning.cred-missing", {}, t("cred.none")), problem ? h("p.muted.small", {}, problem) : null];
  const dlg = openDialog("credentials",
    h("h2", {}, t("cred.title", { id: sensor })),
    body,
    h("div.dialog-buttons", {}, h("button.close", { type: "button", onclick: () => dlg.close() }, t(credentials ? "cred.done" : "reg.close"))));
  dlg.dataset.sensor = sensor;
  return dlg;
}
