/**
 * 2. Cold burst: 100 namespaces created just before, then 1,000 pod reviews (10 per namespace) issued
 * in one go over 100 keep-alive HTTPS connections opened beforehand, as an API server's connection
 * pool would carry them. Latency runs from issue to answer, so it includes waiting for a connection.
 */
import { Agent } from "node:https";
import { httpsRequest } from "../../test/support/https-client.js";
import { procStats, resetPeak } from "../lib/proc-probe.js";
import type { StandInCounts } from "../procs/standins.js";
import { names, podReview } from "../lib/reviews.js";
import { startWebhookProcess } from "../lib/servers.js";
import type { StandInsProcess } from "../lib/standins-client.js";
import { latencyOf, type Latency } from "../lib/stats.js";
import type { WorkDir } from "../lib/workdir.js";

export const BURST = { namespaces: 100, perNamespace: 10, connections: 100 };

export interface BurstResult extends Latency {
  settings: typeof BURST;
  reviews: number;
  errors: number;
  failedRequests: number;
  unpatched: number;
  fallbackWarnings: number;
  ecrCalls: number;
  secretCreates: number;
  secretUpdates: number;
  namespaceGets: number;
  apiRequests: number;
  secretsPresent: number;
  burstMs: number;
  cpuMs: number;
  peakRssBytes: number;
  tokensInLogs: number;
}

type Outcome = { ms: number; kind: "ok" | "failed" | "unpatched" | "warned" };

async function review(port: number, ca: string, body: string, agent: Agent): Promise<Outcome> {
  const started = performance.now();
  try {
    const res = await httpsRequest({ port, ca, body, agent });
    const ms = performance.now() - started;
    if (res.status !== 200) return { ms, kind: "failed" };
    const answer = res.json().response;
    if (answer?.warnings) return { ms, kind: "warned" };
    return { ms, kind: answer?.patch ? "ok" : "unpatched" };
  } catch {
    return { ms: performance.now() - started, kind: "failed" };
  }
}

const sum = (counts: StandInCounts, ...keys: string[]) => keys.reduce((n, k) => n + (counts.kube[k] ?? 0), 0);
const apiTotal = (counts: StandInCounts) =>
  Object.entries(counts.kube)
    .filter(([key]) => key !== "watch namespaces")
    .reduce((n, [, v]) => n + v, 0);

export async function coldBurst(work: WorkDir, standIns: StandInsProcess): Promise<BurstResult> {
  const webhook = await startWebhookProcess(work, standIns.info, {
    logLevel: "info",
    logName: "burst-webhook.log",
  });
  const agent = new Agent({ keepAlive: true, maxSockets: BURST.connections });
  try {
    await Promise.all(
      Array.from({ length: BURST.connections }, () =>
        httpsRequest({ port: webhook.port, ca: work.ca, method: "GET", path: "/healthz", agent }),
      ),
    );
    const namespaces = names("burst-", BURST.namespaces);
    const total = BURST.namespaces * BURST.perNamespace;
    const bodies = Array.from({ length: total }, (_, i) =>
      podReview(namespaces[i % namespaces.length]!, `burst-${i}`),
    );
    await standIns.child.call("addNamespaces", { names: namespaces });
    const before = await standIns.child.call<StandInCounts>("counts");
    resetPeak(webhook.pid);
    const cpuBefore = procStats(webhook.pid);
    const started = performance.now();
    const outcomes = await Promise.all(bodies.map((body) => review(webhook.port, work.ca, body, agent)));
    const burstMs = performance.now() - started;
    const cpuAfter = procStats(webhook.pid);
    const after = await standIns.child.call<StandInCounts>("counts");
    const count = (kind: Outcome["kind"]) => outcomes.filter((o) => o.kind === kind).length;
    const failedRequests = count("failed");
    const unpatched = count("unpatched");
    const fallbackWarnings = count("warned");
    return {
      settings: BURST,
      reviews: total,
      errors: failedRequests + unpatched + fallbackWarnings,
      failedRequests,
      unpatched,
      fallbackWarnings,
      ...latencyOf(outcomes.map((o) => o.ms)),
      ecrCalls: after.ecr - before.ecr,
      secretCreates: sum(after, "create secrets") - sum(before, "create secrets"),
      secretUpdates:
        sum(after, "update secrets", "patch secrets") - sum(before, "update secrets", "patch secrets"),
      namespaceGets: sum(after, "get namespaces") - sum(before, "get namespaces"),
      apiRequests: apiTotal(after) - apiTotal(before),
      secretsPresent: await standIns.child.call<number>("secretsPresent", {
        names: namespaces,
        secretName: "ecr-pull-secret",
      }),
      burstMs,
      cpuMs: (cpuAfter.cpuMicros - cpuBefore.cpuMicros) / 1000,
      peakRssBytes: cpuAfter.peakRssBytes,
      tokensInLogs: await standIns.child.call<number>("leaks", { file: webhook.logFile }),
    };
  } finally {
    agent.destroy();
    await webhook.stop();
  }
}
