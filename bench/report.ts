/** Turns the scenario results into the table rows (figure, target, PASS/FAIL). */
import type { BurstResult } from "./scenarios/burst.js";
import type { KubectlResult } from "./scenarios/kubectl.js";
import type { RotationResult } from "./scenarios/rotation.js";
import type { WarmResult } from "./scenarios/warm.js";
import type { Window } from "./lib/servers.js";
import { atLeast, atMost, exactly, MiB, type Row } from "./lib/stats.js";

const MEMORY_LIMIT_MIB = 120;

function windowRows(scenario: string, label: string, w: Window, p99Target?: number): Row[] {
  return [
    { scenario, figure: `${label}: reviews/s`, value: w.perSecond, unit: "/s" },
    { scenario, figure: `${label}: p50 latency`, value: w.p50Ms, unit: "ms" },
    {
      scenario,
      figure: `${label}: p99 latency`,
      value: w.p99Ms,
      unit: "ms",
      ...(p99Target ? atMost(w.p99Ms, p99Target) : {}),
    },
    { scenario, figure: `${label}: CPU per review`, value: w.cpuMicrosPerReview, unit: "µs" },
    ...(w.maxSendLagMs === undefined
      ? []
      : [
          {
            scenario,
            figure: `${label}: load generator's worst send lag`,
            value: w.maxSendLagMs,
            unit: "ms",
          },
        ]),
  ];
}

export function warmRows(r: WarmResult): Row[] {
  const s = "1 warm admission";
  const rate = `@${r.settings.rate.toLocaleString("en-US")}/s`;
  // The webhook as shipped: log level info, a line per review.
  const cpuRatio = r.webhook.atRate.cpuMicrosPerReview / r.bare.atRate.cpuMicrosPerReview;
  const wMax = r.webhook.unthrottled!;
  const bMax = r.bare.unthrottled!;
  const warn = r.webhookWarnLogging.atRate;
  const windows = [r.webhook.atRate, wMax, r.bare.atRate, bMax, warn, r.webhookNodeDefaults.atRate];
  return [
    ...windowRows(s, `webhook ${rate}`, r.webhook.atRate, 5),
    ...windowRows(s, `bare express ${rate}`, r.bare.atRate),
    ...windowRows(s, `webhook, Node's default GC settings ${rate} (reference)`, r.webhookNodeDefaults.atRate),
    {
      scenario: s,
      figure: "CPU per review, webhook ÷ bare",
      value: cpuRatio,
      unit: "×",
      ...atMost(cpuRatio, 1.5),
    },
    {
      scenario: s,
      figure: "p99 latency, webhook ÷ bare",
      value: r.webhook.atRate.p99Ms / r.bare.atRate.p99Ms,
      unit: "×",
    },
    { scenario: s, figure: "webhook unthrottled: max reviews/s", value: wMax.perSecond, unit: "/s" },
    { scenario: s, figure: "bare unthrottled: max reviews/s", value: bMax.perSecond, unit: "/s" },
    {
      scenario: s,
      figure: "max reviews/s, webhook ÷ bare",
      value: wMax.perSecond / bMax.perSecond,
      unit: "×",
    },
    {
      scenario: s,
      figure: "webhook unthrottled: CPU per review",
      value: wMax.cpuMicrosPerReview,
      unit: "µs",
    },
    {
      scenario: s,
      figure: "webhook --log-level=warn, no line per review (reference): CPU per review",
      value: warn.cpuMicrosPerReview,
      unit: "µs",
    },
    {
      scenario: s,
      figure: "webhook --log-level=warn, no line per review (reference): p99 latency",
      value: warn.p99Ms,
      unit: "ms",
    },
    {
      scenario: s,
      figure: "API/AWS requests during warm load",
      value: r.ioDuringWarmLoad,
      unit: "",
      ...exactly(r.ioDuringWarmLoad, 0),
    },
    ...[windows.reduce((n, w) => n + w.errors, 0)].map((e) => ({
      scenario: s,
      figure: "errors (all windows)",
      value: e,
      unit: "",
      ...exactly(e, 0),
    })),
  ];
}

export function burstRows(r: BurstResult): Row[] {
  const s = "2 cold burst";
  const writes = r.secretCreates + r.secretUpdates;
  return [
    {
      scenario: s,
      figure: `reviews (${r.settings.namespaces} new namespaces × ${r.settings.perNamespace})`,
      value: r.reviews,
      unit: "",
    },
    {
      scenario: s,
      figure: "ECR calls (one identity, one region)",
      value: r.ecrCalls,
      unit: "",
      ...exactly(r.ecrCalls, 1),
    },
    {
      scenario: s,
      figure: "Secret writes",
      value: writes,
      unit: "",
      ...exactly(writes, r.settings.namespaces),
    },
    {
      scenario: s,
      figure: "errors (failed, unpatched or warned)",
      value: r.errors,
      unit: "",
      ...exactly(r.errors, 0),
    },
    {
      scenario: s,
      figure: "namespaces holding the Secret",
      value: r.secretsPresent,
      unit: "",
      ...exactly(r.secretsPresent, r.settings.namespaces),
    },
    { scenario: s, figure: "p50 latency", value: r.p50Ms, unit: "ms" },
    { scenario: s, figure: "p99 latency", value: r.p99Ms, unit: "ms" },
    { scenario: s, figure: "max latency", value: r.maxMs, unit: "ms" },
    { scenario: s, figure: "whole burst", value: r.burstMs, unit: "ms" },
    {
      scenario: s,
      figure: "Kubernetes API requests (namespace GETs)",
      value: `${r.apiRequests} (${r.namespaceGets})`,
      unit: "",
    },
  ];
}

export function rotationRows(r: RotationResult, k: KubectlResult): Row[] {
  const s = "3 rotation";
  const c = r.cycle;
  const rows: Row[] = [
    {
      scenario: s,
      figure: "namespaces refreshed",
      value: c.refreshed,
      unit: "",
      ...exactly(c.refreshed, r.settings.namespaces),
    },
    { scenario: s, figure: "failed", value: c.failed, unit: "", ...exactly(c.failed, 0) },
    { scenario: s, figure: "total time, one cycle", value: c.durationMs / 1000, unit: "s" },
    { scenario: s, figure: "refresh process, start to exit", value: c.wallMs / 1000, unit: "s" },
    {
      scenario: s,
      figure: "time per namespace",
      value: r.msPerNamespace,
      unit: "ms",
      ...atMost(r.msPerNamespace, 3),
    },
    {
      scenario: s,
      figure: "ECR calls (one identity, one region)",
      value: r.ecrCallsSeenByAws,
      unit: "",
      ...exactly(r.ecrCallsSeenByAws, 1),
    },
    { scenario: s, figure: "Kubernetes API requests", value: r.apiRequests, unit: "" },
    { scenario: s, figure: "CPU time of the refresh process", value: c.cpuMicros / 1e6, unit: "s" },
  ];
  if ("skipped" in k)
    return [...rows, { scenario: s, figure: "kubectl loop", value: `skipped: ${k.skipped}`, unit: "" }];
  const speedup = k.estimatedTotalMs / c.durationMs;
  return [
    ...rows,
    {
      scenario: s,
      figure: `kubectl loop: per namespace (${k.sample} sequential)`,
      value: k.perNamespaceMs,
      unit: "ms",
    },
    {
      scenario: s,
      figure: `kubectl loop: ${k.extrapolatedTo.toLocaleString("en-US")} ns (extrapolated from ${k.sample})`,
      value: k.estimatedTotalMs / 1000,
      unit: "s",
    },
    { scenario: s, figure: "kubectl loop failures", value: k.failures, unit: "", ...exactly(k.failures, 0) },
    {
      scenario: s,
      figure: "speed-up over the kubectl loop",
      value: speedup,
      unit: "×",
      ...atLeast(speedup, 50),
    },
  ];
}

export function memoryRows(w: WarmResult, b: BurstResult, r: RotationResult): Row[] {
  const s = "4 memory (peak RSS)";
  const mib = (bytes: number) => bytes / MiB;
  const limited = (figure: string, bytes: number): Row => ({
    scenario: s,
    figure,
    value: mib(bytes),
    unit: "MiB",
    // A zero would mean the process was not measured, not that it used no memory.
    ...(bytes > 0
      ? atMost(Math.round(mib(bytes) * 10) / 10, MEMORY_LIMIT_MIB)
      : { target: `<= ${MEMORY_LIMIT_MIB}`, pass: false }),
  });
  return [
    limited("webhook, warm 1,000/s", w.webhook.atRate.peakRssBytes),
    limited("webhook, warm unthrottled", w.webhook.unthrottled!.peakRssBytes),
    limited("webhook, cold burst", b.peakRssBytes),
    limited(`rotation, ${r.settings.namespaces.toLocaleString("en-US")} namespaces`, r.cycle.peakRssBytes),
    {
      scenario: s,
      figure: "bare express, warm 1,000/s (reference)",
      value: mib(w.bare.atRate.peakRssBytes),
      unit: "MiB",
    },
    {
      scenario: s,
      figure: "webhook, Node's default GC settings, warm 1,000/s (reference)",
      value: mib(w.webhookNodeDefaults.atRate.peakRssBytes),
      unit: "MiB",
    },
  ];
}

export function logRows(w: WarmResult, b: BurstResult, r: RotationResult): Row[] {
  const leaks = w.tokensInLogs + b.tokensInLogs + r.tokensInLogs;
  return [
    {
      scenario: "logs",
      figure: "ECR tokens found in the product's logs",
      value: leaks,
      unit: "",
      ...exactly(leaks, 0),
    },
  ];
}
