// CSV export of what a chart shows: ISO time, value. Built in the browser, so what the officer
// downloads is exactly the series on screen.

function cell(v) {
  const s = v == null ? "" : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text (RFC 4180, CRLF line ends) from a header row and data rows. */
export function toCsv(header, rows) {
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

/** CSV of a {t: [unix seconds], v: []} series. */
export function seriesCsv(series, { sensor, metric, unit }) {
  const rows = series.t.map((sec, i) => [new Date(sec * 1000).toISOString(), series.v[i]]);
  return toCsv(["time", `${sensor}.${metric}${unit ? ` (${unit})` : ""}`], rows);
}

/** Offer `text` as a file download; a UTF-8 BOM lets spreadsheet programs read 中文 headers. */
export function download(filename, text) {
  const blob = new Blob(["\uFEFF", text], { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
