// Live ticket events over server-sent events. EventSource cannot send headers, and a token in
// a URL ends up in logs, so the page first trades its token (Bearer header) for a single-use
// pass (POST /api/v1/events/passes) and opens GET /api/v1/events?pass=…. A pass opens one
// stream only: whenever the stream drops, we ask for a new pass after a pause instead of
// letting the browser reconnect with the used one. A 401 on the pass request (revoked token)
// goes through api.js's unauthorised hook, which shows the login.

import { api } from "./api.js";

const RETRY_MS = 3_000;

export function connectLive({ onEvent, onState }) {
  let source = null;
  let timer = null;
  let closed = false;

  const retry = () => {
    if (!closed) timer = setTimeout(open, RETRY_MS);
  };

  const open = async () => {
    if (closed) return;
    let pass;
    try {
      pass = (await api("/events/passes", { method: "POST" })).pass;
    } catch {
      onState(false);
      retry();
      return;
    }
    if (closed) return;
    source = new EventSource(`/api/v1/events?pass=${encodeURIComponent(pass)}`);
    source.onopen = () => onState(true);
    source.onmessage = (m) => {
      let ev;
      try {
        ev = JSON.parse(m.data);
      } catch {
        return;
      }
      onEvent(ev);
    };
    source.onerror = () => {
      onState(false);
      source?.close();
      source = null;
      retry();
    };
  };
  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
  };
}
