/** Percentiles, units, and the PASS/FAIL table. */

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export interface Latency {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function latencyOf(samples: number[]): Latency {
  const sorted = Float64Array.from(samples).sort();
  const list = Array.from(sorted);
  return { p50Ms: percentile(list, 50), p99Ms: percentile(list, 99), maxMs: percentile(list, 100) };
}

export const MiB = 1024 * 1024;
export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** One line of the report: a figure, and when there is a target, whether it was met. */
export interface Row {
  scenario: string;
  figure: string;
  value: number | string;
  unit: string;
  target?: string;
  pass?: boolean;
}

export const atMost = (value: number, limit: number) => ({ target: `<= ${limit}`, pass: value <= limit });
export const atLeast = (value: number, limit: number) => ({ target: `>= ${limit}`, pass: value >= limit });
export const exactly = (value: number, wanted: number) => ({ target: `= ${wanted}`, pass: value === wanted });

function show(value: number | string): string {
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 || Number.isInteger(value) ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function table(rows: readonly Row[]): string {
  const cells = rows.map((r) => [
    r.scenario,
    r.figure,
    `${show(r.value)} ${r.unit}`.trim(),
    r.target ? `${r.target} ${r.unit}`.trim() : "",
    r.pass === undefined ? "" : r.pass ? "PASS" : "FAIL",
  ]);
  const header = ["scenario", "figure", "value", "target", "result"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((v, i) => (i === 2 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(" | ");
  const rule = widths.map((w) => "-".repeat(w)).join("-|-");
  const body: string[] = [];
  let last = "";
  for (const [i, c] of cells.entries()) {
    if (i > 0 && rows[i]!.scenario !== last) body.push(rule);
    last = rows[i]!.scenario;
    body.push(line(rows[i]!.scenario === (rows[i - 1]?.scenario ?? "") ? ["", ...c.slice(1)] : c));
  }
  return [line(header), rule, ...body].join("\n");
}
