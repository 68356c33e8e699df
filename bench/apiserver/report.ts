/** The real-API-server rows of the report: each figure with its target and its baseline's ratio. */
import { atLeast, atMost, exactly, type Row } from "../lib/stats.js";
import type { RealApiServerResult } from "./index.js";

export function realApiServerRows(r: RealApiServerResult): Row[] {
  if ("skipped" in r)
    return [{ scenario: "4 real API server", figure: "skipped", value: r.skipped, unit: "" }];
  const s = `4 real API server (${r.kubernetes})`;
  const { admission: a, rotation: rot, cold } = r;
  const perNamespace = rot.refresh.cycleMs / rot.namespaces;
  const kubectl =
    "perNamespaceMs" in rot.kubectl
      ? [
          {
            scenario: s,
            figure: `kubectl loop: per namespace (${rot.kubectl.sample} sampled)`,
            value: rot.kubectl.perNamespaceMs,
            unit: "ms",
          },
          {
            scenario: s,
            figure: "speed-up per namespace over the kubectl loop",
            value: rot.speedUpPerNamespace!,
            unit: "×",
            ...atLeast(rot.speedUpPerNamespace!, 100),
          },
        ]
      : [{ scenario: s, figure: "kubectl loop", value: rot.kubectl.skipped, unit: "" }];
  return [
    {
      scenario: s,
      figure: `pod create, webhook registered: p50 (${a.podsEach} pods)`,
      value: a.withWebhook.p50Ms,
      unit: "ms",
    },
    { scenario: s, figure: "pod create, webhook registered: p99", value: a.withWebhook.p99Ms, unit: "ms" },
    {
      scenario: s,
      figure: `pod create, not registered: p50 (${a.podsEach} pods)`,
      value: a.withoutWebhook.p50Ms,
      unit: "ms",
    },
    { scenario: s, figure: "pod create, not registered: p99", value: a.withoutWebhook.p99Ms, unit: "ms" },
    {
      scenario: s,
      figure: "what the webhook adds at p50",
      value: a.addedP50Ms,
      unit: "ms",
      ...atMost(a.addedP50Ms, 2),
    },
    {
      scenario: s,
      figure: "pod create, minimal webhook (answers, no work): p50",
      value: a.withMinimal.p50Ms,
      unit: "ms",
    },
    {
      scenario: s,
      figure: "what any webhook adds at p50 (the minimal one)",
      value: a.minimalAddsP50Ms,
      unit: "ms",
    },
    {
      scenario: s,
      figure: "ecr-webhook beyond the minimal webhook at p50",
      value: a.addedP50Ms - a.minimalAddsP50Ms,
      unit: "ms",
    },
    {
      scenario: s,
      figure: "of which inside the webhook (its own mean per review)",
      value: a.webhookMeanMs,
      unit: "ms",
    },
    {
      scenario: s,
      figure: `refresh of ${rot.namespaces} stale namespaces: cycle`,
      value: rot.refresh.cycleMs,
      unit: "ms",
    },
    {
      scenario: s,
      figure: `raw floor (GET + PUT each, ${rot.concurrency} in flight, keep-alive)`,
      value: rot.floorMs,
      unit: "ms",
    },
    {
      scenario: s,
      figure: "cycle ÷ raw floor",
      value: rot.ratioToFloor,
      unit: "×",
      ...atMost(rot.ratioToFloor, 2),
    },
    { scenario: s, figure: "per namespace", value: perNamespace, unit: "ms" },
    ...kubectl,
    {
      scenario: s,
      figure: "connections refresh opened",
      value: rot.refresh.connections,
      unit: "",
      ...atMost(rot.refresh.connections, rot.concurrency),
    },
    { scenario: s, figure: "refresh: start-up to first request", value: rot.refresh.startupMs, unit: "ms" },
    { scenario: s, figure: "refresh: whole process", value: rot.refresh.wallMs, unit: "ms" },
    {
      scenario: s,
      figure: "refresh: ECR calls",
      value: rot.refresh.ecrCalls,
      unit: "",
      ...exactly(rot.refresh.ecrCalls, 1),
    },
    {
      scenario: s,
      figure: `cold: ${cold.namespaces} namespaces × ${cold.pods / cold.namespaces} pods at once, p50`,
      value: cold.latency.p50Ms,
      unit: "ms",
    },
    { scenario: s, figure: "cold: p99 of the API server's answer", value: cold.latency.p99Ms, unit: "ms" },
    { scenario: s, figure: "cold: ECR calls", value: cold.ecrCalls, unit: "", ...exactly(cold.ecrCalls, 1) },
    {
      scenario: s,
      figure: "cold: Secret writes",
      value: cold.secretWrites,
      unit: "",
      ...exactly(cold.secretWrites, cold.namespaces),
    },
    { scenario: s, figure: "cold: errors", value: cold.errors, unit: "", ...exactly(cold.errors, 0) },
    {
      scenario: s,
      figure: "cold: pods without the reference",
      value: cold.missingReference,
      unit: "",
      ...exactly(cold.missingReference, 0),
    },
  ];
}
