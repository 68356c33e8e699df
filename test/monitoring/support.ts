/**
 * For the monitoring tests: what the webhook exports (the series names of its registry, the metric
 * names a PromQL text mentions) and where promtool is.
 */
import { spawnSync } from "node:child_process";
import { createMetrics } from "../../src/metrics/metrics.js";

/**
 * Series names `serve` exports (it creates its metrics with Node's process metrics): a histogram is
 * its _bucket, _sum and _count series.
 */
export async function exportedSeries(): Promise<Set<string>> {
  const metrics = await createMetrics({ processMetrics: true }).registry.getMetricsAsJSON();
  return new Set(
    metrics.flatMap(({ name, type }) =>
      String(type) === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
    ),
  );
}

/** Names of the webhook's own and of Node's process metrics in a query or a text. */
export const metricNames = (text: string): string[] =>
  text.match(/\b(?:ecr_webhook|process|nodejs)_[a-z0-9_]+/g) ?? [];

/** promtool, if installed: $PROMTOOL, else on PATH, else where Debian's prometheus package puts it. */
export function findPromtool(): string | undefined {
  const candidates = [process.env.PROMTOOL, "promtool", "/usr/bin/promtool"].filter(Boolean) as string[];
  return candidates.find((path) => spawnSync(path, ["--version"], { encoding: "utf8" }).status === 0);
}
