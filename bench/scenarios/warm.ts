/**
 * 1. Warm admission: the webhook with a primed cache (every namespace's Secret already ensured, so a
 * review is a cache hit with no I/O) against a bare express HTTPS server, same load, same run. The
 * paced windows go round the servers in turn (webhook, bare, webhook on Node's default GC settings, webhook
 * at warn), so that machine noise falls on all of them alike; then each of the first two flat out.
 * The webhook measured is the shipped default, log level info (a line per review); warn, which
 * writes none, is the extra, labelled row.
 */
import { readFileSync } from "node:fs";
import type { StandInCounts } from "../procs/standins.js";
import { names, podReview } from "../lib/reviews.js";
import {
  measure,
  measureInTurn,
  reviewOnce,
  startBareProcess,
  startWebhookProcess,
  type Window,
} from "../lib/servers.js";
import type { StandInsProcess } from "../lib/standins-client.js";
import type { WorkDir } from "../lib/workdir.js";

export interface WarmSettings {
  namespaces: number;
  rate: number;
  /** Per server at the paced rate, split into `rounds` windows taken in turn with the others. */
  rateSeconds: number;
  rounds: number;
  maxSeconds: number;
  warmupSeconds: number;
  connections: number;
}

export const WARM_DEFAULTS: WarmSettings = {
  namespaces: 10,
  rate: 1000,
  rateSeconds: 12,
  rounds: 3,
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
  /** The webhook at --log-level=warn (no line per review): what the default line costs. */
  webhookWarnLogging: WarmServerResult;
  /** Lines the webhook (at info, the default) wrote over the whole scenario. */
  logLines: number;
  /** ECR/STS calls and Secret or Namespace API requests while the warm load ran (expected 0). */
  ioDuringWarmLoad: number;
  primingEcrCalls: number;
  primingSecretCreates: number;
  tokensInLogs: number;
}

/** Everything but the watches and their relists: what a review could have caused. */
function io(counts: StandInCounts): number {
  const kube = Object.entries(counts.kube)
    // The Namespace and pull Secret watches (re-established when the stand-in ends one) and their
    // relists, and the leader's Lease renewals, run whatever the load.
    .filter(
      ([key]) =>
        !["watch namespaces", "list namespaces", "watch secrets"].includes(key) && !key.endsWith(" leases"),
    )
    .reduce((sum, [, n]) => sum + n, 0);
  return counts.ecr + counts.sts + kube;
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
    logLevel: "info",
    logName: "warm-webhook.log",
  });
  // The same webhook on Node's default GC settings: what the image's flags trade for memory.
  const defaults = await startWebhookProcess(work, standIns, {
    logLevel: "warn",
    logName: "warm-webhook-node-defaults.log",
    nodeFlags: [],
  });
  const warn = await startWebhookProcess(work, standIns, {
    logLevel: "warn",
    logName: "warm-webhook-warn.log",
  });
  const bare = await startBareProcess(work);
  const servers = [webhook, bare, defaults, warn];
  try {
    for (const server of [webhook, defaults, warn]) {
      for (const body of bodies) await reviewOnce(server.port, work.ca, body);
    }
    const primed = await standInsChild.call<StandInCounts>("counts");
    const paced = { bodies, connections: s.connections, rate: s.rate };
    for (const server of servers) await measure(server, { ...paced, seconds: s.warmupSeconds });
    const [wRate, bRate, dRate, iRate] = await measureInTurn(
      servers,
      { ...paced, seconds: s.rateSeconds / s.rounds },
      s.rounds,
    );
    const flatOut = { bodies, connections: s.connections, seconds: s.maxSeconds };
    const wMax = await measure(webhook, flatOut);
    const bMax = await measure(bare, flatOut);
    const afterLoad = await standInsChild.call<StandInCounts>("counts");
    const logLines = readFileSync(webhook.logFile!, "utf8").split("\n").filter(Boolean).length;
    let tokensInLogs = 0;
    for (const server of [webhook, defaults, warn]) {
      tokensInLogs += await standInsChild.call<number>("leaks", { file: server.logFile });
    }
    return {
      settings: s,
      webhook: { atRate: wRate!, unthrottled: wMax },
      webhookNodeDefaults: { atRate: dRate! },
      bare: { atRate: bRate!, unthrottled: bMax },
      webhookWarnLogging: { atRate: iRate! },
      logLines,
      ioDuringWarmLoad: io(afterLoad) - io(primed),
      primingEcrCalls: primed.ecr,
      primingSecretCreates: primed.kube["create secrets"] ?? 0,
      tokensInLogs,
    };
  } finally {
    for (const server of servers) await server.stop();
  }
}
