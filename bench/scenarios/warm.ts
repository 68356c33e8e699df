/**
 * 1. Warm admission: the webhook with a primed cache (every namespace's Secret already ensured, so a
 * review is a cache hit with no I/O) against a bare express HTTPS server, same load, same run.
 */
import { readFileSync } from "node:fs";
import type { StandInCounts } from "../procs/standins.js";
import { names, podReview } from "../lib/reviews.js";
import {
  measure,
  reviewOnce,
  startBareProcess,
  startWebhookProcess,
  type ServerUnderTest,
  type Window,
} from "../lib/servers.js";
import type { StandInsProcess } from "../lib/standins-client.js";
import type { WorkDir } from "../lib/workdir.js";

export interface WarmSettings {
  namespaces: number;
  rate: number;
  rateSeconds: number;
  maxSeconds: number;
  warmupSeconds: number;
  connections: number;
}

export const WARM_DEFAULTS: WarmSettings = {
  namespaces: 10,
  rate: 1000,
  rateSeconds: 10,
  maxSeconds: 5,
  warmupSeconds: 3,
  connections: 10,
};

export interface WarmServerResult {
  atRate: Window;
  unthrottled?: Window;
}

export interface WarmResult {
  settings: WarmSettings;
  webhook: WarmServerResult;
  /** The webhook run without the image's heap flags (at rate only). */
  webhookNodeDefaults: WarmServerResult;
  bare: WarmServerResult;
  webhookInfoLogging: WarmServerResult & { logLines: number };
  /** ECR/STS calls and Secret or Namespace API requests while the warm load ran (expected 0). */
  ioDuringWarmLoad: number;
  primingEcrCalls: number;
  primingSecretCreates: number;
  tokensInLogs: number;
}

/** Everything but the namespace watch and its relists: what a review could have caused. */
function io(counts: StandInCounts): number {
  const kube = Object.entries(counts.kube)
    // The Namespace watch and its relists, and the leader's Lease renewals, run whatever the load.
    .filter(([key]) => !["watch namespaces", "list namespaces"].includes(key) && !key.endsWith(" leases"))
    .reduce((sum, [, n]) => sum + n, 0);
  return counts.ecr + counts.sts + kube;
}

async function load(server: ServerUnderTest, bodies: string[], s: WarmSettings, unthrottled: boolean) {
  const base = { bodies, connections: s.connections };
  await measure(server, { ...base, seconds: s.warmupSeconds, rate: s.rate });
  const atRate = await measure(server, { ...base, seconds: s.rateSeconds, rate: s.rate });
  const max = unthrottled ? await measure(server, { ...base, seconds: s.maxSeconds }) : undefined;
  return { atRate, ...(max ? { unthrottled: max } : {}) };
}

export async function warmAdmission(
  work: WorkDir,
  { child: standInsChild, info: standIns }: StandInsProcess,
  s: WarmSettings = WARM_DEFAULTS,
): Promise<WarmResult> {
  const namespaces = names("warm-", s.namespaces);
  await standInsChild.call("addNamespaces", { names: namespaces });
  const bodies = namespaces.map((ns, i) => podReview(ns, `warm-uid-${i}`));

  const webhook = await startWebhookProcess(work, standIns, {
    logLevel: "warn",
    logName: "warm-webhook.log",
  });
  for (const body of bodies) await reviewOnce(webhook.port, work.ca, body);
  const primed = await standInsChild.call<StandInCounts>("counts");
  const webhookResult = await load(webhook, bodies, s, true);
  const afterLoad = await standInsChild.call<StandInCounts>("counts");
  await webhook.stop();

  // The same webhook with Node's default heap settings: what the image's flags trade for memory.
  const defaults = await startWebhookProcess(work, standIns, {
    logLevel: "warn",
    logName: "warm-webhook-node-defaults.log",
    nodeFlags: [],
  });
  for (const body of bodies) await reviewOnce(defaults.port, work.ca, body);
  const defaultsResult = await load(defaults, bodies, s, false);
  await defaults.stop();

  const bare = await startBareProcess(work);
  const bareResult = await load(bare, bodies, s, true);
  await bare.stop();

  const info = await startWebhookProcess(work, standIns, {
    logLevel: "info",
    logName: "warm-webhook-info.log",
  });
  for (const body of bodies) await reviewOnce(info.port, work.ca, body);
  const infoResult = await load(info, bodies, s, false);
  await info.stop();
  const logLines = readFileSync(info.logFile!, "utf8").split("\n").filter(Boolean).length;

  let tokensInLogs = 0;
  for (const file of [webhook.logFile!, defaults.logFile!, info.logFile!])
    tokensInLogs += await standInsChild.call<number>("leaks", { file });
  return {
    settings: s,
    webhook: webhookResult,
    webhookNodeDefaults: defaultsResult,
    bare: bareResult,
    webhookInfoLogging: { ...infoResult, logLines },
    ioDuringWarmLoad: io(afterLoad) - io(primed),
    primingEcrCalls: primed.ecr,
    primingSecretCreates: primed.kube["create secrets"] ?? 0,
    tokensInLogs,
  };
}
