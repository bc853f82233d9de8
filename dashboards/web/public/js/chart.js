// Time-series charts on uPlot (served from /vendor/uplot, installed by setup.sh), with the
// standards' bands painted behind the curve and limit lines on top. If the library is missing
// the chart says so instead of breaking the page.

import { bandsFor, limitValues } from "./bands.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { toMs } from "./timeparams.js";

let uplotPromise = null;
function loadUPlot() {
  uplotPromise ??= import("/vendor/uplot/uPlot.esm.js").then((m) => m.default);
  return uplotPromise;
}

const FILL = {
  ok: "rgba(46, 160, 67, 0.10)",
  warn: "rgba(219, 150, 0, 0.16)",
  crit: "rgba(215, 58, 73, 0.16)",
  info: "rgba(90, 110, 140, 0.06)",
};
const STROKE = {
  ok: "rgba(46, 160, 67, 0.9)",
  warn: "rgba(190, 125, 0, 0.95)",
  crit: "rgba(200, 40, 55, 0.95)",
  info: "rgba(90, 110, 140, 0.75)",
};

function labelText(label) {
  if (!label) return "";
  return label.text ?? t(label.key, label.vars);
}

/**
 * Turn what GET /series returns into {t: [unix seconds], v: [number|null]}.
 * Accepts {points: [[time, value]] or [{time|t, value|v}]}, {times: [], values: []} or a bare
 * list, times as ISO text or epoch s/ms/ns, so
 * the page keeps working while the trends API settles its shape.
 */
export function toSeries(data) {
  const pts = Array.isArray(data) ? data : data?.points ?? data?.data ?? null;
  const tt = [];
  const vv = [];
  const push = (time, val) => {
    const ms = toMs(time);
    if (ms == null) return;
    tt.push(ms / 1000);
    vv.push(val == null ? null : Number(val));
  };
  if (Array.isArray(pts)) {
    for (const p of pts) {
      if (Array.isArray(p)) push(p[0], p[1]);
      else push(p.time ?? p.t ?? p.ts, p.value ?? p.v ?? p.mean);
    }
  } else if (Array.isArray(data?.times) && Array.isArray(data?.values)) {
    data.times.forEach((time, i) => push(time, data.values[i]));
  }
  return { t: tt, v: vv };
}

function yRange(series, kind, metric) {
  const vals = series.v.filter((x) => x != null && Number.isFinite(x));
  if (!vals.length) return [0, 1];
  let lo = Math.min(...vals);
  let hi = Math.max(...vals);
  const span = Math.max(hi - lo, Math.abs(hi) * 0.1, 1e-6);
  // Pull in the limits near the data, not the far ones that would flatten the curve.
  for (const l of limitValues(kind, metric)) {
    if (l >= lo - span && l <= hi + span) {
      lo = Math.min(lo, l);
      hi = Math.max(hi, l);
    }
  }
  const pad = (hi - lo) * 0.08 || 1;
  return [lo - pad, hi + pad];
}

/**
 * Draw `series` for (kind, metric) into `container`; returns a handle with destroy().
 * `marker` (unix seconds) draws a vertical line, e.g. when a ticket opened.
 */
export async function drawChart(container, { series, kind, metric, unit = "", marker = null, height = 280 }) {
  container.replaceChildren();
  if (!series.t.length) {
    container.append(h("p.muted.chart-empty", {}, t("trends.no_data")));
    return { destroy() {} };
  }
  let UPlot;
  try {
    UPlot = await loadUPlot();
  } catch {
    container.append(h("p.error", {}, t("error.unavailable"), " (uPlot)"));
    return { destroy() {} };
  }
  const { bands, lines } = bandsFor(kind, metric);
  const paintBands = (u) => {
    const { ctx, bbox } = u;
    ctx.save();
    for (const b of bands) {
      const [ymin, ymax] = [u.scales.y.min, u.scales.y.max];
      const lo = Math.max(b.from, ymin);
      const hi = Math.min(b.to, ymax);
      if (!(hi > lo)) continue;
      const y1 = u.valToPos(hi, "y", true);
      const y2 = u.valToPos(lo, "y", true);
      ctx.fillStyle = FILL[b.level];
      ctx.fillRect(bbox.left, y1, bbox.width, y2 - y1);
    }
    ctx.restore();
  };
  const paintLines = (u) => {
    const { ctx, bbox } = u;
    const dpr = window.devicePixelRatio || 1;
    ctx.save();
    ctx.font = `${11 * dpr}px system-ui, sans-serif`;
    // Limit lines are labelled at the right end, bands inside their top-left corner, so the
    // two never sit on each other.
    ctx.textAlign = "right";
    for (const l of lines) {
      if (l.value < u.scales.y.min || l.value > u.scales.y.max) continue;
      const y = u.valToPos(l.value, "y", true);
      ctx.strokeStyle = STROKE[l.level];
      ctx.setLineDash([6 * dpr, 4 * dpr]);
      ctx.lineWidth = dpr;
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      const text = labelText(l.label);
      if (text) {
        ctx.fillStyle = STROKE[l.level];
        ctx.fillText(text, bbox.left + bbox.width - 4 * dpr, y - 3 * dpr);
      }
    }
    ctx.textAlign = "left";
    for (const b of bands) {
      const top = Math.min(b.to, u.scales.y.max);
      if (!b.label || top <= Math.max(b.from, u.scales.y.min)) continue;
      ctx.fillStyle = STROKE[b.level];
      ctx.fillText(labelText(b.label), bbox.left + 6 * dpr, u.valToPos(top, "y", true) + 13 * dpr);
    }
    if (marker != null) {
      const x = u.valToPos(marker, "x", true);
      if (x >= bbox.left && x <= bbox.left + bbox.width) {
        ctx.strokeStyle = "rgba(200, 40, 55, 0.9)";
        ctx.setLineDash([2 * dpr, 3 * dpr]);
        ctx.beginPath();
        ctx.moveTo(x, bbox.top);
        ctx.lineTo(x, bbox.top + bbox.height);
        ctx.stroke();
      }
    }
    ctx.restore();
  };
  const innerWidth = () => {
    const cs = getComputedStyle(container);
    return container.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  };
  const width = Math.max(320, innerWidth() || 800);
  const opts = {
    width,
    height,
    scales: { x: { time: true }, y: { range: () => yRange(series, kind, metric) } },
    legend: { show: true },
    axes: [{}, { label: unit, size: 60 }],
    series: [{}, { label: `${metric}${unit ? ` (${unit})` : ""}`, stroke: "#1f6feb", width: 2, spanGaps: false }],
    hooks: { drawClear: [paintBands], draw: [paintLines] },
  };
  const plot = new UPlot(opts, [series.t, series.v], container);
  const onResize = () => plot.setSize({ width: Math.max(320, innerWidth()), height });
  window.addEventListener("resize", onResize);
  return {
    plot,
    destroy() {
      window.removeEventListener("resize", onResize);
      plot.destroy();
    },
  };
}
