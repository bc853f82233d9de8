// Live ticket events over server-sent events (GET /api/v1/events?token=…; EventSource cannot
// send headers). The browser reconnects by itself; when the server refuses the token outright
// (the stream closes for good) we try again after a pause, in case it was a restart.

const RETRY_MS = 10_000;

export function connectLive(token, { onEvent, onState }) {
  let source = null;
  let timer = null;
  let closed = false;

  const open = () => {
    if (closed) return;
    source = new EventSource(`/api/v1/events?token=${encodeURIComponent(token)}`);
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
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        timer = setTimeout(open, RETRY_MS);
      }
    };
  };
  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
  };
}
