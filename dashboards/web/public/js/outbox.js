// A weak network loses nothing: every crew action on a ticket goes through `send`. Sent at once
// when the phone is online; when the network fails (no answer at all) it is kept in IndexedDB
// (photos as Blobs), shown as pending, and sent again in order — oldest first, one at a time —
// when the phone is back online (or the page is opened again). An answer the server refuses is
// not retried: a 409 (the ticket was resolved by someone else meanwhile) is kept as a conflict
// and shown until the crew dismisses it; other refusals likewise, as failures.

import { api, ApiError } from "./api.js";

const DB = "gridwatch";
const STORE = "outbox";
const listeners = new Set();
let flushing = null;

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const result = fn(t.objectStore(STORE));
    t.oncomplete = () => { db.close(); resolve(result.result ?? result); };
    t.onerror = () => { db.close(); reject(t.error); };
  });
}

/** Everything kept: {seq, ticket, kind, body, files, state: "pending"|"conflict"|"failed", error}. */
export async function entries() {
  return tx("readonly", (s) => s.getAll());
}

const put = (entry) => tx("readwrite", (s) => s.put(entry));
const remove = (seq) => tx("readwrite", (s) => s.delete(seq));

export function onOutboxChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
const changed = () => listeners.forEach((fn) => fn());

/** Do one action now: photos first (their ids go with a resolve), then the action itself. */
async function perform({ ticket, kind, body, files }) {
  const ids = [];
  for (const file of files ?? []) {
    const form = new FormData();
    form.append("file", file, file.name || "photo.jpg");
    ids.push((await api(`/tickets/${ticket}/photos`, { method: "POST", form })).id);
  }
  if (kind === "photo") return null;
  const path = { ack: "ack", arrive: "arrive", comment: "comments", resolve: "resolve" }[kind];
  const payload = kind === "resolve" ? { ...(body ?? {}), photos: ids } : body;
  return api(`/tickets/${ticket}/${path}`, { method: "POST", body: payload });
}

const offline = (e) => e instanceof ApiError && e.status === 0;

/**
 * Send an action, or keep it when the network fails. Returns {sent: true, ticket} when the
 * server took it, {queued: true} when it waits; a refusal is thrown as ApiError.
 */
export async function send(action) {
  const waiting = (await entries()).some((e) => e.state === "pending");
  if (!waiting && navigator.onLine !== false) {
    try {
      return { sent: true, ticket: await perform(action) };
    } catch (e) {
      if (!offline(e)) throw e;
    }
  }
  await put({ ...action, state: "pending", at: new Date().toISOString() });
  changed();
  return { queued: true };
}

/** Send what is pending, in order; stops at the first network failure. */
export function flush() {
  flushing ??= (async () => {
    try {
      for (const entry of (await entries()).filter((e) => e.state === "pending")) {
        try {
          await perform(entry);
          await remove(entry.seq);
        } catch (e) {
          if (offline(e)) break;
          await put({ ...entry, files: [], state: e.status === 409 ? "conflict" : "failed", error: e.message });
        }
        changed();
      }
    } finally {
      flushing = null;
    }
  })();
  return flushing;
}

export async function dismiss(seq) {
  await remove(seq);
  changed();
}

window.addEventListener("online", () => flush());
