/**
 * `BENCH_ONLY=profile npm run bench`: the warm review as the API server drives it, profiled. The
 * shipped webhook (default flags, log level info) and the minimal webhook each run under
 * `--cpu-prof` while the API server creates pods one at a time through them, in turns; then each
 * profile is summarised per stage of a review and per function, and divided by the reviews it
 * served. The API server's first request is recorded (headers and body), so that its exact shape
 * can be replayed offline. Printed only: a profile is for finding costs, not a figure to keep.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startAwsStandIn, type AwsStandIn } from "../../test/support/aws/index.js";
import { ADMIN_TOKEN } from "../../test/support/control-plane/control-plane.js";
import { freePort } from "../../test/support/free-port.js";
import { startServe } from "../../test/support/webhook-process.js";
import { summarizeProfile } from "../lib/cpu-profile.js";
import { procScript } from "../lib/paths.js";
import { startChild } from "../lib/rpc.js";
import { RUNTIME_FLAGS } from "../lib/runtime-flags.js";
import { latencyOf } from "../lib/stats.js";
import type { WorkDir } from "../lib/workdir.js";
import { admissionHistogram, apiClient, startRealCluster, type RealCluster } from "./cluster.js";
import { awaitMutation, createNamespaces, podBody, REGISTRY, registrationOf } from "./scenarios.js";

const PODS = Number(process.env.BENCH_PROFILE_PODS ?? 1_500);
const ROUNDS = 3;

/** Where a sample's time goes in a review; the outermost matching frame on its stack decides. */
const STAGES: Record<string, (fn: string, url: string) => boolean> = {
  gc: (fn) => fn === "(garbage collector)",
  "log (pino)": (fn, url) => url.includes("pino") || /^(asJson|write|LOG|genLog)$/.test(fn),
  "metrics (prom-client)": (fn, url) => url.includes("prom-client") || /^(observe|inc|dec)$/.test(fn),
  "body read + JSON.parse": (fn, url) =>
    url.includes("body-parser") || url.includes("raw-body") || fn === "parse" || fn === "readBody",
  "decide + patch": (fn) => /^(decide|decidePod|encodeResponse|imagePullSecretsPatch)$/.test(fn),
  "express routing": (fn, url) => url.includes("router") || url.includes("express"),
  "HTTP parse (headers)": (fn) => fn === "parserOnHeadersComplete" || fn === "parserOnIncoming",
  "write (res.end)": (fn) => fn === "end" || fn === "_writeRaw" || fn === "writeHead",
  "TLS and socket I/O": (fn, url) =>
    url.includes("_tls_wrap") || url.includes("stream_base_commons") || fn === "onStreamRead",
};

/** `count` pod creates one after the other; the latency of each one the API server accepted. */
async function createPods(
  client: ReturnType<typeof apiClient>,
  namespace: string,
  count: number,
  into: number[],
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await client.send(
      "POST",
      `/api/v1/namespaces/${namespace}/pods`,
      podBody(`${REGISTRY}/app:1`),
    );
    if (res.status === 201) into.push(res.ms);
  }
}

function latestProfile(dir: string): string {
  const file = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .sort()
    .pop();
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  return join(dir, file);
}

async function profileRun(work: WorkDir, cluster: RealCluster, aws: AwsStandIn, log: (s: string) => void) {
  const namespace = "bench-warm";
  await createNamespaces(cluster, [namespace], true);
  const dirs = { webhook: work.file("profile-webhook"), minimal: work.file("profile-minimal") };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const port = await freePort();
  const webhook = await startServe({
    kubeconfig: cluster.webhookKubeconfig,
    aws,
    nodeFlags: [...RUNTIME_FLAGS, "--cpu-prof", `--cpu-prof-dir=${dirs.webhook}`],
    logFile: work.file("profile-webhook.log"),
    port,
    tls: work,
    args: ["--shutdown-delay=0s"],
  });
  await webhook.waitReady();
  const minimalPort = await freePort();
  const minimal = startChild(procScript("minimal"), {
    execArgv: [...RUNTIME_FLAGS, "--cpu-prof", `--cpu-prof-dir=${dirs.minimal}`],
  });
  await minimal.call("start", {
    certFile: work.certFile,
    keyFile: work.keyFile,
    port: minimalPort,
    recordFile: work.file("apiserver-request.json"),
  });
  const sides = {
    webhook: registrationOf(work, cluster, port),
    minimal: registrationOf(work, cluster, minimalPort),
  };
  const client = apiClient(cluster.state, ADMIN_TOKEN, 1);
  const samples = { webhook: [] as number[], minimal: [] as number[] };
  const histogram = { webhook: 0, minimal: 0 };
  try {
    await sleep(1_500);
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of ["webhook", "minimal"] as const) {
        await sides[side].register();
        await awaitMutation(cluster, namespace, true);
        const before = await admissionHistogram(cluster.state, "pods.ecr-webhook.io");
        await createPods(client, namespace, PODS / ROUNDS, samples[side]);
        const after = await admissionHistogram(cluster.state, "pods.ecr-webhook.io");
        histogram[side] += after.count - before.count;
        await sides[side].unregister();
        await awaitMutation(cluster, namespace, false);
      }
    }
  } finally {
    client.close();
    await webhook.stop();
    await minimal.stop();
  }
  for (const side of ["webhook", "minimal"] as const) {
    const l = latencyOf(samples[side]);
    const summary = summarizeProfile(latestProfile(dirs[side]), STAGES);
    const reviews = histogram[side];
    const busy = summary.totalMs - summary.idleMs;
    log(
      `\n${side}: ${samples[side].length} pod creates, p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms; ` +
        `${reviews} reviews; busy ${busy.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms sampled, ` +
        `${((1000 * busy) / reviews).toFixed(0)} µs per review (start-up and background included)`,
    );
    log("  per review, by stage (µs):");
    for (const [stage, ms] of Object.entries(summary.stages).sort((a, b) => b[1] - a[1]))
      log(`    ${stage.padEnd(26)} ${((1000 * ms) / reviews).toFixed(1)}`);
    log("  top self time (µs per review):");
    for (const { frame, ms } of summary.self.slice(0, 40))
      log(`    ${((1000 * ms) / reviews).toFixed(1).padStart(7)}  ${frame}`);
  }
  writeFileSync(work.file("profile-dirs.json"), JSON.stringify(dirs));
  log(
    `\nprofiles: ${dirs.webhook}, ${dirs.minimal}; the API server's request: ${work.file("apiserver-request.json")}`,
  );
}

export async function profileAdmission(work: WorkDir, log: (s: string) => void): Promise<void> {
  const found = await startRealCluster(work);
  if ("skipped" in found) return log(`skipped: ${found.skipped}`);
  const aws = await startAwsStandIn();
  try {
    await profileRun(work, found.cluster, aws, log);
  } finally {
    await aws.close();
    await found.cluster.close();
  }
}
