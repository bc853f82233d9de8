// Time windows for GET /series: ISO start/stop and an `every` that keeps a chart near a few
// hundred points whatever the range (the server bounds point counts; we ask for sane ones).

const STEPS = [
  [10, "10s"], [30, "30s"], [60, "1m"], [300, "5m"], [600, "10m"], [900, "15m"], [1800, "30m"],
  [3600, "1h"], [3 * 3600, "3h"], [6 * 3600, "6h"], [12 * 3600, "12h"], [86400, "1d"], [7 * 86400, "7d"],
];

/** The smallest step giving at most `maxPoints` over [startMs, stopMs]. */
export function everyFor(startMs, stopMs, maxPoints = 400) {
  const span = Math.max(1, (stopMs - startMs) / 1000);
  for (const [sec, label] of STEPS) if (span / sec <= maxPoints) return label;
  return STEPS[STEPS.length - 1][1];
}

export function iso(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** ms since epoch from an ISO string, an epoch number (s, ms or ns) or null. */
export function toMs(v) {
  if (v == null || v === "") return null;
  if (typeof v === "number") {
    if (v > 1e17) return v / 1e6;
    return v > 1e12 ? v : v * 1000;
  }
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}
