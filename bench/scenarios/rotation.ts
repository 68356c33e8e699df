/**
 * 3. Rotation at scale: 10,000 enabled namespaces whose managed Secrets are stale (entries expiring
 * in 5 h, under the default --min-token-ttl of 6 h, on the real clock), one cycle of
 * `ecr-webhook refresh`; the stand-ins run in another process and are not counted.
 */
import { FLAGS } from "../../src/config/flags.js";
import { spawnWebhook } from "../../test/support/webhook-process.js";
import { procStats, type ProcStats } from "../lib/proc-probe.js";
import { FIXTURE_REGISTRY, names } from "../lib/reviews.js";
import type { StandInCounts } from "../procs/standins.js";
import type { StandInsProcess } from "../lib/standins-client.js";
import { standInOptions } from "../lib/webhook-options.js";
import type { WorkDir } from "../lib/workdir.js";

export const ROTATION = { namespaces: 10_000, hoursLeft: 5, secretName: "ecr-pull-secret" };

export interface CycleFigures {
  namespaces: number;
  refreshed: number;
  fresh: number;
  absent: number;
  failed: number;
  /** The first "✗ namespace: reason" lines refresh printed. */
  firstFailures: string[];
  ecrCalls: number;
  durationMs: number;
  wallMs: number;
  concurrency: number;
  /** Whole process, start-up included. */
  cpuMicros: number;
  peakRssBytes: number;
}

export interface RotationResult {
  settings: typeof ROTATION;
  seedMs: number;
  cycle: CycleFigures;
  msPerNamespace: number;
  ecrCallsSeenByAws: number;
  apiRequests: number;
  apiRequestsByKind: Record<string, number>;
  tokensInLogs: number;
}

const delta = (after: StandInCounts, before: StandInCounts): Record<string, number> =>
  Object.fromEntries(
    Object.entries(after.kube)
      .map(([key, n]) => [key, n - (before.kube[key] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );

const SUMMARY =
  /(\d+) enabled namespaces: (\d+) refreshed, (\d+) already fresh, (\d+) without a Secret yet, (\d+) failed \((\d+) ECR calls, (\d+) ms/;

/**
 * `ecr-webhook refresh` (one rotation cycle, exactly what the controller runs) from the bundle with
 * the image's flags; its CPU time and peak RSS are sampled from /proc until it exits.
 */
async function refreshOnce(work: WorkDir, standIns: StandInsProcess, logFile: string): Promise<CycleFigures> {
  const started = performance.now();
  const refresh = spawnWebhook(["refresh"], standInOptions(work, standIns.info, logFile));
  // The last samples may come from a process already exiting (its memory figures then read 0):
  // keep the highest of each.
  let cpuMicros = 0;
  let peakRssBytes = 0;
  const sampler = setInterval(() => {
    try {
      const stats: ProcStats = procStats(refresh.pid);
      cpuMicros = Math.max(cpuMicros, stats.cpuMicros);
      peakRssBytes = Math.max(peakRssBytes, stats.peakRssBytes);
    } catch {
      // exited between two samples
    }
  }, 10);
  const { code } = await refresh.exit;
  clearInterval(sampler);
  const wallMs = performance.now() - started;
  const output = refresh.stdout();
  const m = SUMMARY.exec(output);
  if (!m || peakRssBytes === 0)
    throw new Error(`refresh exited ${code} without its summary: ${output.slice(-2000)}`);
  const [namespaces, refreshed, fresh, absent, failed, ecrCalls, durationMs] = m.slice(1).map(Number);
  return {
    namespaces: namespaces!,
    refreshed: refreshed!,
    fresh: fresh!,
    absent: absent!,
    failed: failed!,
    firstFailures: output
      .split("\n")
      .filter((line) => line.startsWith("✗ "))
      .slice(0, 3),
    ecrCalls: ecrCalls!,
    durationMs: durationMs!,
    wallMs,
    concurrency: Number(FLAGS.find((f) => f.name === "rotation-concurrency")!.default),
    cpuMicros,
    peakRssBytes,
  };
}

export async function rotationAtScale(work: WorkDir, standIns: StandInsProcess): Promise<RotationResult> {
  const namespaces = names("rot-", ROTATION.namespaces);
  const seedStarted = performance.now();
  await standIns.child.call("seedStale", {
    names: namespaces,
    hosts: [FIXTURE_REGISTRY],
    hoursLeft: ROTATION.hoursLeft,
    secretName: ROTATION.secretName,
  });
  const seedMs = performance.now() - seedStarted;
  const before = await standIns.child.call<StandInCounts>("counts");
  const logFile = work.file("rotation.log");
  const cycle = await refreshOnce(work, standIns, logFile);
  const after = await standIns.child.call<StandInCounts>("counts");
  const byKind = delta(after, before);
  return {
    settings: ROTATION,
    seedMs,
    cycle,
    msPerNamespace: cycle.durationMs / cycle.namespaces,
    ecrCallsSeenByAws: after.ecr - before.ecr,
    apiRequests: Object.values(byKind).reduce((a, b) => a + b, 0),
    apiRequestsByKind: byKind,
    tokensInLogs: await standIns.child.call<number>("leaks", { file: logFile }),
  };
}
