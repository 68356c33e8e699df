/** Starting the servers under test and measuring them over a load window. */
import type { Agent } from "node:https";
import { httpsRequest } from "../../test/support/https-client.js";
import { startServe } from "../../test/support/webhook-process.js";
import type { StandIns } from "../procs/standins.js";
import { runLoad, type LoadOptions, type LoadResult } from "./load.js";
import { latencyOf } from "./stats.js";
import { pacedAgent, runPacedLoad } from "./paced-load.js";
import { procScript } from "./paths.js";
import { procStats, resetPeak } from "./proc-probe.js";
import { startChild } from "./rpc.js";
import { RUNTIME_FLAGS } from "./runtime-flags.js";
import { standInOptions } from "./webhook-options.js";
import type { WorkDir } from "./workdir.js";

export interface ServerUnderTest {
  readonly pid: number;
  readonly port: number;
  /** The CA the serving certificate chains to. */
  readonly ca: string;
  readonly logFile?: string;
  /** The webhook's plain-HTTP /metrics port. */
  readonly metricsPort?: number;
  /** Keep-alive connections of the paced load, kept from one window to the next. */
  agent?: Agent;
  stop(): Promise<void>;
}

/**
 * `ecr-webhook serve` from the bundle with the image's Node flags: Namespace cache, real ensurer,
 * real AWS SDK, leader election, rotation and the reconciler, all against the stand-ins.
 */
export async function startWebhookProcess(
  work: WorkDir,
  standIns: StandIns,
  options: { logLevel: string; logName: string; nodeFlags?: readonly string[] },
): Promise<ServerUnderTest> {
  const logFile = work.file(options.logName);
  const serve = await startServe({
    ...standInOptions(work, standIns, logFile, options.nodeFlags),
    tls: work,
    // Nothing balances over it: stopping between scenarios need not wait out endpoints.
    args: [`--log-level=${options.logLevel}`, "--shutdown-delay=0s"],
  });
  const stop = async () => {
    await serve.stop();
  };
  try {
    await serve.waitReady(15_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: serve.pid, port: serve.port, metricsPort: serve.metricsPort, ca: work.ca, logFile, stop };
}

/** The floor: express over node:https answering a fixed review, with the same Node flags. */
export async function startBareProcess(work: WorkDir): Promise<ServerUnderTest> {
  const child = startChild(procScript("bare"), {
    execArgv: [...RUNTIME_FLAGS],
    logFile: work.file("bare.log"),
  });
  const port = await child.call<number>("start", { certFile: work.certFile, keyFile: work.keyFile });
  return { pid: child.pid, port, ca: work.ca, stop: () => child.stop() };
}

/** Sends one review and insists it was patched without a warning (the path measured must work). */
export async function reviewOnce(port: number, ca: string, body: string, agent?: Agent): Promise<void> {
  const res = await httpsRequest({ port, ca, body, agent });
  const answer = res.status === 200 ? res.json().response : undefined;
  if (!answer?.patch || answer.warnings)
    throw new Error(`review not patched cleanly: ${res.status} ${res.text}`);
}

export interface Window extends LoadResult {
  /** Server CPU time over the window divided by the reviews answered in it. */
  cpuMicrosPerReview: number;
  /** Share of one core the server used over the window. */
  cpuCores: number;
  peakRssBytes: number;
  /** Paced windows: how late the load generator sent its latest request. */
  maxSendLagMs?: number;
  /** Windows merged into this one (measureInTurn). */
  windows?: number;
  /** Raw latencies, kept only until windows are merged. */
  latencies?: number[];
}

/**
 * Paced windows taken in turn on each server (A, B, C, A, B, C, …) and merged per server, so that
 * whatever else the machine does during the run falls on all of them alike. Each window follows
 * one unmeasured second of the same load: a server that sat idle while the others were measured
 * (V8 shrinks an idle heap) is back in its steady state before it is measured.
 */
export async function measureInTurn(
  servers: readonly ServerUnderTest[],
  load: Omit<LoadOptions, "port"> & { rate: number },
  rounds: number,
): Promise<Window[]> {
  const parts = servers.map(() => [] as Window[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, server] of servers.entries()) {
      await runPacedLoad({ ...load, seconds: 1, port: server.port, ca: server.ca, agent: server.agent });
      parts[i]!.push(await measure(server, load, true));
    }
  }
  return parts.map(merge);
}

function merge(windows: Window[]): Window {
  const sum = (f: (w: Window) => number) => windows.reduce((n, w) => n + f(w), 0);
  const reviews = sum((w) => w.reviews);
  const seconds = sum((w) => w.seconds);
  const cpuMicros = sum((w) => w.cpuMicrosPerReview * Math.max(1, w.reviews));
  return {
    reviews,
    errors: sum((w) => w.errors),
    seconds,
    perSecond: reviews / seconds,
    ...latencyOf(windows.flatMap((w) => w.latencies ?? [])),
    cpuMicrosPerReview: cpuMicros / Math.max(1, reviews),
    cpuCores: cpuMicros / 1e6 / seconds,
    peakRssBytes: Math.max(...windows.map((w) => w.peakRssBytes)),
    maxSendLagMs: Math.max(...windows.map((w) => w.maxSendLagMs ?? 0)),
    windows: windows.length,
  };
}

/**
 * One load window, with the server process's own CPU time and peak RSS over exactly that window:
 * paced (open loop) when a rate is given, autocannon flat out otherwise.
 */
export async function measure(
  server: ServerUnderTest,
  load: Omit<LoadOptions, "port">,
  keepLatencies = false,
): Promise<Window> {
  resetPeak(server.pid);
  const before = procStats(server.pid);
  const started = performance.now();
  const result =
    load.rate === undefined
      ? await runLoad({ ...load, port: server.port })
      : await runPacedLoad({
          ...load,
          rate: load.rate,
          port: server.port,
          ca: server.ca,
          agent: (server.agent ??= pacedAgent(server.ca, load.connections)),
        });
  const elapsedS = (performance.now() - started) / 1000;
  const after = procStats(server.pid);
  const cpu = after.cpuMicros - before.cpuMicros;
  const { latencies, ...summary } = result as LoadResult & { latencies?: number[] };
  return {
    ...summary,
    ...(keepLatencies && latencies ? { latencies } : {}),
    cpuMicrosPerReview: cpu / Math.max(1, result.reviews),
    cpuCores: cpu / 1e6 / elapsedS,
    peakRssBytes: after.peakRssBytes,
  };
}
