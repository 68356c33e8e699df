/** The real-API-server rows of the report: each figure with its target and its baseline's ratio. */
import { atLeast, atMost, exactly, MiB, type Row } from "../lib/stats.js";
import type { RealApiServerResult } from "./index.js";
import type { AdmissionResult, RealRotationResult } from "./scenarios.js";

/** ecr-webhook's added cost ÷ the minimal webhook's, at p50 and at p99. */
export const ADDED_COST_TARGET = { p50: 1.2, p99: 1.5 };
export const ROTATION_FLOOR_TARGET = 1.2;
export const ROTATION_RSS_MIB = 120;

function admissionRows(s: string, a: AdmissionResult): Row[] {
  const { latency: l, added, ratio, apiserver } = a;
  const ms = (figure: string, value: number): Row => ({ scenario: s, figure, value, unit: "ms" });
  const ratioRow = (figure: string, value: number, limit: number): Row => ({
    scenario: s,
    figure,
    value,
    unit: "×",
    ...atMost(Math.round(value * 100) / 100, limit),
  });
  const api = (side: "minimal" | "webhook", label: string): Row[] => [
    ms(`API server's histogram, ${label}: p50 (${apiserver[side].count} calls)`, apiserver[side].p50Ms),
    ms(`API server's histogram, ${label}: p99`, apiserver[side].p99Ms),
    ms(`API server's histogram, ${label}: mean (sum ÷ count)`, apiserver[side].meanMs),
  ];
  const apiRatio = (q: "p50Ms" | "p99Ms") => apiserver.webhook[q] / apiserver.minimal[q];
  return [
    ms(`pod create, no webhook: p50 (${a.podsEach} pods each, in turns)`, l.none.p50Ms),
    ms("pod create, no webhook: p99", l.none.p99Ms),
    ms("pod create, minimal webhook (answers allowed, no work): p50", l.minimal.p50Ms),
    ms("pod create, minimal webhook: p99", l.minimal.p99Ms),
    ms("pod create, ecr-webhook (shipped defaults, warm): p50", l.webhook.p50Ms),
    ms("pod create, ecr-webhook: p99", l.webhook.p99Ms),
    ms("added by the minimal webhook: p50", added.minimal.p50Ms),
    ms("added by the minimal webhook: p99", added.minimal.p99Ms),
    ms("added by ecr-webhook: p50", added.webhook.p50Ms),
    ms("added by ecr-webhook: p99", added.webhook.p99Ms),
    ratioRow("added cost at p50, ecr-webhook ÷ minimal", ratio.p50, ADDED_COST_TARGET.p50),
    ratioRow("added cost at p99, ecr-webhook ÷ minimal", ratio.p99, ADDED_COST_TARGET.p99),
    ms("ecr-webhook's own mean per review (its histogram)", a.webhookMeanMs),
    ...api("minimal", "minimal webhook"),
    ...api("webhook", "ecr-webhook"),
    ratioRow("API server's histogram p50, ecr-webhook ÷ minimal", apiRatio("p50Ms"), ADDED_COST_TARGET.p50),
    ratioRow("API server's histogram p99, ecr-webhook ÷ minimal", apiRatio("p99Ms"), ADDED_COST_TARGET.p99),
  ];
}

function rotationRows(s: string, rot: RealRotationResult): Row[] {
  const n = rot.namespaces.toLocaleString("en-US");
  const peak = Math.max(rot.proxied.peakRssBytes, rot.direct.peakRssBytes) / MiB;
  const kubectl: Row[] =
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
    { scenario: s, figure: `refresh of ${n} stale namespaces: cycle`, value: rot.cycleMs, unit: "ms" },
    {
      scenario: s,
      figure: `PUT-only floor (one PUT each, ${rot.concurrency} in flight, keep-alive, same identity)`,
      value: rot.floor.ms,
      unit: "ms",
    },
    {
      scenario: s,
      figure: "cycle ÷ PUT-only floor",
      value: rot.ratioToFloor,
      unit: "×",
      ...atMost(Math.round(rot.ratioToFloor * 100) / 100, ROTATION_FLOOR_TARGET),
    },
    { scenario: s, figure: "per namespace", value: rot.cycleMs / rot.namespaces, unit: "ms" },
    { scenario: s, figure: "refresh: requests to the API server", value: rot.direct.requests, unit: "" },
    { scenario: s, figure: "floor: requests to the API server", value: rot.floor.requests, unit: "" },
    {
      scenario: s,
      figure: `refresh: connections opened (${rot.concurrency} writers + the list page read ahead)`,
      value: rot.proxied.connections,
      unit: "",
      ...atMost(rot.proxied.connections, rot.concurrency + 1),
    },
    { scenario: s, figure: "floor: connections opened", value: rot.floor.connections, unit: "" },
    {
      scenario: s,
      figure: "refresh: peak RSS",
      value: peak,
      unit: "MiB",
      ...atMost(Math.round(peak * 10) / 10, ROTATION_RSS_MIB),
    },
    { scenario: s, figure: "refresh: start-up to first request", value: rot.proxied.startupMs, unit: "ms" },
    { scenario: s, figure: "refresh: whole process", value: rot.direct.wallMs, unit: "ms" },
    {
      scenario: s,
      figure: "refresh: ECR calls",
      value: rot.direct.ecrCalls,
      unit: "",
      ...exactly(rot.direct.ecrCalls, 1),
    },
    {
      scenario: s,
      figure: "refresh: Secrets refreshed",
      value: rot.direct.refreshed,
      unit: "",
      ...exactly(rot.direct.refreshed, rot.namespaces),
    },
    ...kubectl,
  ];
}

export function realApiServerRows(r: RealApiServerResult): Row[] {
  if ("skipped" in r)
    return [{ scenario: "4 real API server", figure: "skipped", value: r.skipped, unit: "" }];
  const s = `4 real API server (${r.kubernetes})`;
  if (!("admission" in r)) return rotationRows(s, r.rotation);
  const { cold } = r;
  return [
    ...admissionRows(s, r.admission),
    ...rotationRows(s, r.rotation),
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
