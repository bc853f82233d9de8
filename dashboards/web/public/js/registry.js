// The live registry as the admin pages see it (contract §7): GET /site — the document in the
// site file's shape with its version, a crew's own grids only — and, for an admin, the sensors
// retired from it (GET /audit: their last document, so the table can still show them). Every
// change goes through the entity routes; the forms for sensors, grids, people and communities
// are built here so the tables and the map open the same ones.

import { api } from "./api.js";
import { credentialsDialog, entityForm } from "./forms.js";
import { t } from "./i18n.js";
import { may } from "./me.js";

export const KINDS = ["pond", "water", "power", "sewer"];
export const ROLES = ["worker", "supervisor", "crew"];

/** {version, communities, grids: [{…grid, community}], people, sensors: [{…, status}]}. */
export async function loadRegistry() {
  const [doc, audit] = await Promise.all([
    api("/site"),
    may("admin") ? api("/audit?entity=sensor&limit=1000").catch(() => null) : null,
  ]);
  const grids = doc.communities.flatMap((c) => c.grids.map((g) => ({ ...g, community: c.id })));
  // The document leaves defaults out; the forms compare against the values in force.
  const sensors = doc.sensors.map((s) => ({ asset: "", interval_s: 300, ...s, status: "active" }));
  const people = doc.people.map((p) => ({ role: "worker", phone: "", email: "", grids: [], ...p }));
  const active = new Set(sensors.map((s) => s.id));
  const retired = new Map();
  for (const row of audit?.changes ?? []) { // newest first
    if (row.action === "retired" && row.before && !active.has(row.entity_id) && !retired.has(row.entity_id)) {
      retired.set(row.entity_id, { asset: "", interval_s: 300, ...row.before, status: "retired", retired_at: row.at, retired_by: row.who });
    }
  }
  return { ...doc, grids, people, sensors: [...sensors, ...retired.values()].sort((a, b) => a.id.localeCompare(b.id)) };
}

export const nameOf = (list, id) => {
  const x = list.find((e) => e.id === id);
  return x?.name ? `${x.name} (${id})` : id ?? "";
};

/** What a change did, for the page's status line: the version and tickets carried along. */
export function changeNote(answer) {
  const parts = [t("reg.saved", { v: answer?.version ?? "?" })];
  const moved = answer?.tickets?.reassigned?.length ?? 0;
  const closed = answer?.tickets?.retired?.length ?? 0;
  if (moved) parts.push(t("reg.tickets_reassigned", { n: moved }));
  if (closed) parts.push(t("reg.tickets_retired", { n: closed }));
  if (answer?.login_error) parts.push(answer.login_error);
  return parts.join(" · ");
}

function sensorFields(reg, isNew) {
  return [
    { name: "id", label: t("reg.f.id"), readonly: !isNew, placeholder: "pond-qp-09" },
    { name: "kind", label: t("filter.kind"), type: "select", readonly: !isNew, options: KINDS.map((k) => [k, t(`kind.${k}`)]) },
    { name: "grid", label: t("filter.grid"), type: "select", options: reg.grids.map((g) => [g.id, nameOf(reg.grids, g.id)]) },
    { name: "asset", label: t("map.asset") },
    { name: "interval_s", label: t("reg.f.interval"), type: "number" },
    { name: "location.lat", label: t("reg.f.lat"), type: "number" },
    { name: "location.lon", label: t("reg.f.lon"), type: "number" },
  ];
}

/** The add form of a sensor (`at`: {lat, lon} where the map was clicked); shows the new
 * broker login once on success. */
export function addSensor(reg, { at = null, onDone } = {}) {
  const defaults = { kind: KINDS[0], grid: reg.grids[0]?.id, interval_s: 300, location: at ?? undefined };
  return entityForm({
    title: t("reg.add_sensor"), cls: "sensor-form", fields: sensorFields(reg, true).map((f) => ({ ...f, defaults })),
    send: (body) => api("/sensors", { method: "POST", body: { kind: defaults.kind, grid: defaults.grid, ...body } }),
    onDone: (answer) => {
      const id = answer?.sensor?.id;
      credentialsDialog(id, answer?.credentials, answer?.credentials_error);
      onDone?.(answer);
    },
  });
}

export function editSensor(reg, sensor, { onDone } = {}) {
  return entityForm({
    title: t("reg.edit", { id: sensor.id }), cls: "sensor-form", fields: sensorFields(reg, false), initial: sensor,
    send: (body) => api(`/sensors/${encodeURIComponent(sensor.id)}`, { method: "PATCH", body }), onDone,
  });
}

export async function rotateSensor(sensor) {
  const answer = await api(`/sensors/${encodeURIComponent(sensor.id)}/credentials`, { method: "POST" });
  credentialsDialog(sensor.id, answer?.credentials);
  return answer;
}

export function retireSensor(sensor) {
  return api(`/sensors/${encodeURIComponent(sensor.id)}`, { method: "DELETE" });
}

function personOptions(reg) {
  return reg.people.map((p) => [p.id, `${p.name} (${p.id})`]);
}

export function gridForm(reg, grid, { onDone } = {}) {
  const fields = [
    { name: "id", label: t("reg.f.id"), readonly: !!grid, placeholder: "qp-g3" },
    { name: "name", label: t("reg.f.name") },
    { name: "community", label: t("map.community"), type: "select", options: reg.communities.map((c) => [c.id, nameOf(reg.communities, c.id)]) },
    { name: "worker", label: t("reg.f.worker"), type: "select", options: personOptions(reg) },
  ];
  const defaults = { community: reg.communities[0]?.id, worker: reg.people[0]?.id };
  return entityForm({
    title: grid ? t("reg.edit", { id: grid.id }) : t("reg.add_grid"), cls: "grid-form",
    fields: fields.map((f) => ({ ...f, defaults })), initial: grid,
    send: (body) => grid
      ? api(`/grids/${encodeURIComponent(grid.id)}`, { method: "PATCH", body })
      : api("/grids", { method: "POST", body: { community: defaults.community, worker: defaults.worker, ...body } }),
    onDone,
  });
}

export function personForm(reg, person, { onDone } = {}) {
  const fields = [
    { name: "id", label: t("reg.f.id"), readonly: !!person, placeholder: "w-040" },
    { name: "name", label: t("reg.f.name") },
    { name: "role", label: t("reg.f.role"), type: "select", options: ROLES.map((r) => [r, t(`reg.role.${r}`)]) },
    { name: "phone", label: t("reg.f.phone") },
    { name: "email", label: t("reg.f.email") },
    { name: "grids", label: t("reg.f.grids"), type: "multi", options: reg.grids.map((g) => [g.id, nameOf(reg.grids, g.id)]) },
  ];
  const defaults = { role: "worker" };
  return entityForm({
    title: person ? t("reg.edit", { id: person.id }) : t("reg.add_person"), cls: "person-form",
    fields: fields.map((f) => ({ ...f, defaults })), initial: person ? { role: "worker", ...person } : null,
    send: (body) => person
      ? api(`/people/${encodeURIComponent(person.id)}`, { method: "PATCH", body })
      : api("/people", { method: "POST", body: { role: "worker", ...body } }),
    onDone,
  });
}

export function communityForm(reg, community, { onDone } = {}) {
  return entityForm({
    title: t("reg.edit", { id: community.id }), cls: "community-form",
    fields: [
      { name: "id", label: t("reg.f.id"), readonly: true },
      { name: "name", label: t("reg.f.name") },
      { name: "supervisor", label: t("reg.f.supervisor"), type: "select", options: personOptions(reg) },
    ],
    initial: community,
    send: (body) => api(`/communities/${encodeURIComponent(community.id)}`, { method: "PATCH", body }),
    onDone,
  });
}
