// The standards' limits drawn into trend charts (domain.md §2), so an officer sees at a glance
// which class or grade a curve sits in. `bands` shade a value range; `lines` mark a limit.
// Levels: ok (green), warn (amber), crit (red), info (neutral class boundaries).

const GB3838 = ["I", "II", "III", "IV", "V"];

function classLines(limits, unitLabel) {
  return limits.map((v, i) => ({ value: v, level: "info", label: { key: "band.class", vars: { cls: GB3838[i] } }, unit: unitLabel }));
}

const BANDS = {
  pond: {
    do: {
      lines: classLines([7.5, 6, 5, 3, 2]),
      bands: [
        { from: 0.2, to: 2.0, level: "warn", label: { key: "band.light" } },
        { from: -Infinity, to: 0.2, level: "crit", label: { key: "band.heavy" } },
      ],
    },
    nh3n: {
      lines: classLines([0.15, 0.5, 1.0, 1.5, 2.0]),
      bands: [
        { from: 8.0, to: 15, level: "warn", label: { key: "band.light" } },
        { from: 15, to: Infinity, level: "crit", label: { key: "band.heavy" } },
      ],
    },
    orp: {
      bands: [
        { from: -200, to: 50, level: "warn", label: { key: "band.light" } },
        { from: -Infinity, to: -200, level: "crit", label: { key: "band.heavy" } },
      ],
    },
    transparency: {
      bands: [
        { from: 10, to: 25, level: "warn", label: { key: "band.light" } },
        { from: -Infinity, to: 10, level: "crit", label: { key: "band.heavy" } },
      ],
    },
    ph: { bands: [{ from: 6, to: 9, level: "ok", label: { key: "band.qualified" } }] },
  },
  water: {
    chlorine: {
      bands: [{ from: 0.05, to: 2.0, level: "ok", label: { key: "band.qualified" } }],
      lines: [{ value: 0.1, level: "warn" }, { value: 1.0, level: "warn" }],
    },
    turbidity: { lines: [{ value: 0.5, level: "warn" }, { value: 1.0, level: "crit", label: { key: "band.limit" } }] },
    ph: {
      bands: [{ from: 6.5, to: 8.5, level: "ok", label: { key: "band.qualified" } }],
      lines: [{ value: 6.8, level: "warn" }, { value: 8.3, level: "warn" }],
    },
    pressure: {
      bands: [{ from: 0.14, to: 0.6, level: "ok", label: { key: "band.qualified" } }],
      lines: [{ value: 0.16, level: "warn" }, { value: 0.45, level: "warn" }],
    },
    tank_level: { lines: [{ value: 30, level: "warn" }, { value: 15, level: "crit" }] },
  },
  power: {
    voltage: {
      // GB/T 12325-2008: +7 % / -10 % of 220 V qualifies; the ±5 % band is the warning line.
      bands: [
        { from: 198, to: 235.4, level: "ok", label: { key: "band.qualified" } },
        { from: 209, to: 231, level: "ok", label: { key: "band.deviation" } },
      ],
      lines: [
        { value: 198, level: "crit", label: { text: "198 V" } },
        { value: 209, level: "warn", label: { text: "209 V" } },
        { value: 231, level: "warn", label: { text: "231 V" } },
        { value: 235.4, level: "crit", label: { text: "235.4 V" } },
      ],
    },
    frequency: {
      bands: [{ from: 49.8, to: 50.2, level: "ok", label: { key: "band.qualified" } }],
      lines: [{ value: 49.5, level: "crit" }, { value: 50.5, level: "crit" }],
    },
    load_rate: { lines: [{ value: 80, level: "warn" }, { value: 100, level: "crit" }] },
    oil_temp: { lines: [{ value: 85, level: "warn" }, { value: 95, level: "crit" }] },
    power_factor: { lines: [{ value: 0.9, level: "warn" }, { value: 0.85, level: "crit" }] },
  },
  sewer: {
    fill: { lines: [{ value: 0.9, level: "warn" }, { value: 1.0, level: "crit" }] },
    freeboard: { lines: [{ value: 0.5, level: "warn" }, { value: 0.2, level: "crit" }] },
    h2s: { lines: [{ value: 10, level: "warn" }, { value: 20, level: "crit" }] },
    ch4: { lines: [{ value: 10, level: "warn" }, { value: 25, level: "crit" }] },
    o2: { lines: [{ value: 19.5, level: "warn" }, { value: 18, level: "crit" }] },
    cover_tilt: { lines: [{ value: 5, level: "warn" }, { value: 15, level: "crit" }] },
  },
};

/** The bands and lines for a metric of a kind ({bands: [], lines: []}, both maybe empty). */
export function bandsFor(kind, metric) {
  const b = BANDS[kind]?.[metric] ?? {};
  return { bands: b.bands ?? [], lines: b.lines ?? [] };
}

/** The limit values worth keeping inside the y range, so a flat curve still shows its limits. */
export function limitValues(kind, metric) {
  const { bands, lines } = bandsFor(kind, metric);
  const vals = lines.map((l) => l.value);
  for (const b of bands) vals.push(b.from, b.to);
  return vals.filter(Number.isFinite);
}
