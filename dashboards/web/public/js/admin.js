// The registry pages (#/registry/<tab>): sensors, communities, grids and people as tables,
// and the map (adminmap.js). Everyone signed in reads what GET /site gives them (a crew its
// own grids); only an admin gets the add / edit / retire controls — the server checks again.

import { h, mount } from "./dom.js";
import { fmtTime, t } from "./i18n.js";
import { may } from "./me.js";
import { renderRegistryMap } from "./adminmap.js";
import { confirmDialog } from "./forms.js";
import {
  addSensor, changeNote, communityForm, editSensor, gridForm, loadRegistry, nameOf, personForm, retireSensor, rotateSensor,
} from "./registry.js";
import { api } from "./api.js";

export const TABS = ["sensors", "map", "communities", "grids", "people"];

function table(cls, heads, rows) {
  return h(`table.reg-table.${cls}`, {},
    h("thead", {}, h("tr", {}, heads.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td.muted", { colspan: heads.length }, t("empty")))));
}

const button = (cls, label, onclick) => h(`button.${cls}`, { type: "button", onclick }, label);

export function renderAdmin(root, { tab }) {
  const current = TABS.includes(tab) ? tab : "sensors";
  const admin = may("admin");
  const status = h("p.reg-status", { role: "status" });
  const body = h("div.reg-body", {}, h("p.muted", {}, t("loading")));
  const tabs = h("nav.reg-tabs", {}, TABS.map((x) =>
    h(`a.reg-tab-${x}`, { href: `#/registry/${x}`, class: x === current ? "active" : null }, t(`reg.tab.${x}`))));
  const version = h("span.muted.reg-version");
  mount(root, h("section.view.registry", { "data-tab": current, "data-admin": admin ? "yes" : "no" },
    h("h1", {}, t("reg.title"), " ", version),
    admin ? null : h("p.muted.read-only", {}, t("reg.read_only")),
    tabs, status, body));

  let reg = null;
  let mapView = null;

  const say = (text, error = false) => {
    status.textContent = text;
    status.className = `reg-status${error ? " error" : ""}`;
  };
  const done = (answer) => {
    say(changeNote(answer));
    reload();
  };
  const failed = (e) => say(e.status === 403 ? t("error.forbidden") : t("error.load", { msg: e.message }), true);

  async function retire(s) {
    if (!(await confirmDialog(t("reg.retire_confirm", { id: s.id }), { yes: t("reg.retire"), danger: true }))) return;
    try {
      done(await retireSensor(s));
    } catch (e) {
      failed(e);
    }
  }

  async function rotate(s) {
    if (!(await confirmDialog(t("reg.rotate_confirm", { id: s.id }), { yes: t("reg.rotate") }))) return;
    try {
      await rotateSensor(s);
      say(t("reg.rotated", { id: s.id }));
    } catch (e) {
      failed(e);
    }
  }

  const actions = { addSensor: (at) => addSensor(reg, { at, onDone: done }), editSensor: (s) => editSensor(reg, s, { onDone: done }), retire, rotate, done, failed };

  function sensorsTable() {
    const rows = reg.sensors.map((s) => h("tr.reg-row", { "data-id": s.id, "data-status": s.status },
      h("td", {}, h("code", {}, s.id)),
      h("td", {}, t(`kind.${s.kind}`)),
      h("td.grid", { "data-grid": s.grid }, nameOf(reg.grids, s.grid)),
      h("td", {}, s.asset ?? ""),
      h("td.num", {}, s.interval_s ?? 300),
      h("td.nowrap.small", {}, s.location ? `${s.location.lat.toFixed(5)}, ${s.location.lon.toFixed(5)}` : "—"),
      h("td", {}, h(`span.badge.reg-status-${s.status}`, { "data-status": s.status, title: s.retired_at ? fmtTime(s.retired_at) : null }, t(`reg.status.${s.status}`))),
      admin ? h("td.row-actions", {}, s.status === "active"
        ? [button("edit", t("reg.edit_short"), () => actions.editSensor(s)),
            button("rotate", t("reg.rotate"), () => rotate(s)),
            button("retire.danger", t("reg.retire"), () => retire(s))]
        : null) : null));
    return [
      admin ? h("div.reg-tools", {}, button("add.add-sensor", t("reg.add_sensor"), () => actions.addSensor(null))) : null,
      table("sensors", [t("reg.f.id"), t("filter.kind"), t("filter.grid"), t("map.asset"), t("reg.f.interval"), t("reg.f.location"), t("col.status"), admin ? "" : null].filter((x) => x !== null), rows),
    ];
  }

  function communitiesTable() {
    const rows = reg.communities.map((c) => h("tr.reg-row", { "data-id": c.id },
      h("td", {}, h("code", {}, c.id)), h("td", {}, c.name), h("td", {}, nameOf(reg.people, c.supervisor)),
      h("td", {}, c.grids.map((g) => g.id).join(", ")),
      admin ? h("td.row-actions", {}, button("edit", t("reg.edit_short"), () => communityForm(reg, c, { onDone: done }))) : null));
    return table("communities", [t("reg.f.id"), t("reg.f.name"), t("reg.f.supervisor"), t("reg.tab.grids"), admin ? "" : null].filter((x) => x !== null), rows);
  }

  function gridsTable() {
    const rows = reg.grids.map((g) => h("tr.reg-row", { "data-id": g.id },
      h("td", {}, h("code", {}, g.id)), h("td", {}, g.name), h("td", {}, nameOf(reg.communities, g.community)),
      h("td.worker", {}, nameOf(reg.people, g.worker)),
      h("td.num", {}, reg.sensors.filter((s) => s.grid === g.id && s.status === "active").length),
      h("td", {}, g.boundary ? t("reg.yes") : "—"),
      admin ? h("td.row-actions", {}, button("edit", t("reg.edit_short"), () => gridForm(reg, g, { onDone: done }))) : null));
    return [
      admin ? h("div.reg-tools", {}, button("add.add-grid", t("reg.add_grid"), () => gridForm(reg, null, { onDone: done }))) : null,
      table("grids", [t("reg.f.id"), t("reg.f.name"), t("map.community"), t("reg.f.worker"), t("reg.tab.sensors"), t("reg.f.boundary"), admin ? "" : null].filter((x) => x !== null), rows),
    ];
  }

  function peopleTable() {
    const rows = reg.people.map((p) => h("tr.reg-row", { "data-id": p.id },
      h("td", {}, h("code", {}, p.id)), h("td.name", {}, p.name), h("td", {}, t(`reg.role.${p.role}`)),
      h("td.phone", {}, p.phone), h("td.email", {}, p.email), h("td", {}, (p.grids ?? []).join(", ")),
      admin ? h("td.row-actions", {},
        button("edit", t("reg.edit_short"), () => personForm(reg, p, { onDone: done })),
        button("delete.danger", t("reg.delete"), async () => {
          if (!(await confirmDialog(t("reg.delete_confirm", { id: p.id }), { yes: t("reg.delete"), danger: true }))) return;
          try {
            done(await api(`/people/${encodeURIComponent(p.id)}`, { method: "DELETE" }));
          } catch (e) {
            failed(e);
          }
        })) : null));
    return [
      admin ? h("div.reg-tools", {}, button("add.add-person", t("reg.add_person"), () => personForm(reg, null, { onDone: done }))) : null,
      table("people", [t("reg.f.id"), t("reg.f.name"), t("reg.f.role"), t("reg.f.phone"), t("reg.f.email"), t("reg.f.grids"), admin ? "" : null].filter((x) => x !== null), rows),
    ];
  }

  function draw() {
    version.textContent = t("reg.version", { v: reg.version });
    if (current === "map") {
      if (mapView) mapView.update(reg);
      else {
        const box = h("div.reg-map");
        mount(body, box);
        mapView = renderRegistryMap(box, reg, { admin, actions });
      }
      return;
    }
    const view = { sensors: sensorsTable, communities: communitiesTable, grids: gridsTable, people: peopleTable }[current]();
    mount(body, view);
  }

  async function reload() {
    try {
      reg = await loadRegistry();
    } catch (e) {
      mount(body, h("p.error", {}, e.status === 503 ? t("reg.empty") : t("error.load", { msg: e.message })));
      return;
    }
    draw();
  }

  reload();
  return {};
}
