/**
 * `npm run bench`: warm admission, cold burst, rotation at scale (with the kubectl loop) and memory,
 * measured side by side in one run on loopback. Prints a table and writes bench/results/latest.json.
 * Exits 0 when targets are missed (the figures are the result); 1 only if the benchmark itself fails.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { RESULTS_DIR } from "./lib/paths.js";
import { RUNTIME_FLAGS } from "./lib/runtime-flags.js";
import { names } from "./lib/reviews.js";
import { withStandIns } from "./lib/standins-client.js";
import { MiB, table, type Row } from "./lib/stats.js";
import { makeWorkDir } from "./lib/workdir.js";
import { burstRows, logRows, memoryRows, rotationRows, warmRows } from "./report.js";
import { realApiServer, type RealApiServerResult } from "./apiserver/index.js";
import { clientVariantRows, clientVariants } from "./apiserver/client-variants.js";
import { realApiServerRows } from "./apiserver/report.js";
import { profileAdmission } from "./apiserver/profile.js";
import { coldBurst } from "./scenarios/burst.js";
import { KUBECTL_SAMPLE, kubectlLoop } from "./scenarios/kubectl.js";
import { ROTATION, rotationAtScale } from "./scenarios/rotation.js";
import { replayAdmission } from "./scenarios/replay.js";
import { startup } from "./scenarios/startup.js";
import { warmAdmission } from "./scenarios/warm.js";
import { startupRows } from "./startup-report.js";

const NOTES = [
  `The webhook is the shipped artifact: dist/ecr-webhook.mjs run as \`node ${RUNTIME_FLAGS.join(" ")} dist/ecr-webhook.mjs serve\` (the Dockerfile's ENTRYPOINT flags), configured only by flags and environment, against the stand-ins; leader election, rotation and the reconciler run as in a cluster. The bare express server runs with the same Node flags.`,
  "Those flags bound the heap's garbage and keep GC on the request thread (see the Dockerfile); one reference row runs the same webhook with Node's default GC settings (no flags), to show what they trade.",
  "CPU per review is the server process's user+system CPU over the window (from /proc, 10 ms ticks) ÷ reviews answered; peak RSS is its VmHWM, reset before each window.",
  "Every headline figure is the webhook as shipped: default flags, log level info (a line per review), the serving certificate as `ecr-webhook certs` issues it (ECDSA P-256, signed by its own CA); a non-default setting only in an extra row that says so (e.g. --log-level=warn). Its logs go to files in the work directory.",
  "Warm: 10 namespaces primed; at 1,000 reviews/s the load is open-loop and paced (one request every 1 ms over up to 10 keep-alive HTTPS connections, latency from send to answer). The four servers (webhook, bare express, webhook on Node's default GC settings, webhook at warn) run side by side: 3 s warm-up each, then 12 s each measured in three 4 s windows taken in turn and merged. Unthrottled: autocannon, 10 connections, 5 s. The load generator shares the machine's 2 cores with the server, so unthrottled rates are a floor and latency includes some client delay (its worst send lag is reported).",
  "Cold burst: 1,000 reviews issued at once over 100 pre-opened keep-alive connections, against fresh namespaces; latency includes waiting for a connection.",
  "Start-up: `ecr-webhook refresh` spawned with the image's flags against a loopback listener standing for the API server and AWS, timed from spawn to its first request (then killed); cold (NODE_DISABLE_COMPILE_CACHE=1) and with a compile cache written first as the Dockerfile writes it (`--help`, NODE_COMPILE_CACHE, same flags) and then made read-only, in turns after one unmeasured run; the run fails if a measured process changed the cache.",
  "Rotation: `ecr-webhook refresh` (one cycle, default --rotation-concurrency) from the bundle; its CPU and peak RSS are sampled from /proc until it exits. The Kubernetes and AWS stand-ins run in another process, not counted.",
  `kubectl: sequential, --validate=false (the stand-in serves no OpenAPI), discovery answered by an HTTPS front, one aws ecr get-login-password and one namespace list per run; the per-namespace time is measured on ${KUBECTL_SAMPLE} namespaces and extrapolated.`,
  "Real API server (step 5): etcd and kube-apiserver on loopback, found as `npm run test:e2e` finds them (skipped without them), the shipped RBAC, the webhook bundle as its own ServiceAccount with its default flags, AWS the stand-in. Pod creates: one at a time over one keep-alive connection, in an enabled namespace whose Secret is warm and whose ServiceAccount carries the reference (as the webhook's reconciler leaves it, so ecr-webhook answers without a patch), in turns with no webhook, the minimal webhook (node:https answering allowed, no patch) and ecr-webhook registered by URL, the order rotated each of 5 rounds of 600 creates per side, 20 unmeasured creates at the start of each turn; p50 over every sample, p99 the median of the rounds' p99s; added cost = with the webhook minus without (at p99: the median of each round's difference). The API server's view: apiserver_admission_webhook_admission_duration_seconds for the pods webhook, scraped from its /metrics before and after each turn, the deltas summed per webhook and p50/p99 estimated from the buckets as histogram_quantile does (linear inside a bucket; the API server's buckets are coarse: 5 ms, 25 ms, 100 ms, ...). Rotation: `refresh` (no flags) of 10,000 namespaces with stale Secrets, once through a TCP proxy that counts its connections and the time to its first, once straight to the API server; after each, the floor: one unconditional PUT of the same Secret per namespace from a bare keep-alive client, 16 in flight, as the same ServiceAccount; the better of each kept. Requests are the audit events of the webhook's ServiceAccount during the run; peak RSS the refresh process's VmHWM. kubectl: `kubectl create secret docker-registry … --dry-run=client -o yaml | kubectl apply -f -` per namespace on 20 namespaces. Cold: 1,000 pod creates issued at once over 64 keep-alive connections into 100 new namespaces.",
];

function machine() {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryMiB: Math.round(totalmem() / MiB),
    node: process.version,
    nodeFlags: RUNTIME_FLAGS.join(" "),
    platform: `${process.platform} ${release()}`,
    npmPackageVersion: process.env.npm_package_version,
    gitCommit: (() => {
      try {
        return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
      } catch {
        return undefined;
      }
    })(),
  };
}

const step = (text: string) => console.log(`[bench] ${new Date().toISOString().slice(11, 19)} ${text}`);

/**
 * BENCH_ONLY=apiserver runs step 5 alone (a quick look at the real-API-server figures), and
 * BENCH_ONLY=rotation only its rotation (BENCH_ROTATION_NAMESPACES of them, default 10,000);
 * BENCH_ONLY=startup step 4 alone, printed and not written; BENCH_ONLY=clients compares Kubernetes
 * clients for rotation on the real API server (bench/apiserver/client-variants.ts), printed only;
 * BENCH_ONLY=profile profiles the webhook and the minimal webhook under the API server's pod
 * creates (bench/apiserver/profile.ts), printed only; BENCH_ONLY=replay replays the API server's
 * recorded request at both, per stage with BENCH_REPLAY_PROFILE=1 (bench/scenarios/replay.ts).
 */
const only = process.env.BENCH_ONLY;

async function standInSteps(work: Awaited<ReturnType<typeof makeWorkDir>>) {
  step("1/5 warm admission (webhook, bare express, webhook on Node defaults, webhook at warn)");
  const warm = await withStandIns((s) => warmAdmission(work, s));
  step("2/5 cold burst");
  const burst = await withStandIns((s) => coldBurst(work, s));
  step(`3/5 rotation of ${ROTATION.namespaces} namespaces, then the kubectl loop`);
  const { rotation, kubectl } = await withStandIns(async (s) => {
    const rotation = await rotationAtScale(work, s);
    const sample = names("rot-", ROTATION.namespaces).slice(0, KUBECTL_SAMPLE);
    return { rotation, kubectl: await kubectlLoop(work, s, sample, ROTATION.namespaces) };
  });
  step("4/5 start-up of refresh, cold and with the compile cache");
  const start = await startup(work);
  const rows: Row[] = [
    ...warmRows(warm),
    ...burstRows(burst),
    ...rotationRows(rotation, kubectl),
    ...memoryRows(warm, burst, rotation),
    ...logRows(warm, burst, rotation),
    ...startupRows(start),
  ];
  return { rows, results: { warm, burst, rotation, kubectl, startup: start } };
}

async function main(): Promise<void> {
  const work = await makeWorkDir();
  const started = Date.now();
  step(`work directory (logs, kubeconfig): ${work.dir}`);
  if (only === "clients") {
    console.log(table(clientVariantRows(await clientVariants(work, step))));
    return;
  }
  if (only === "replay") {
    await withStandIns((s) => replayAdmission(work, s, (line) => console.log(line)));
    return;
  }
  if (only === "profile") {
    await profileAdmission(work, (line) => console.log(line));
    return;
  }
  if (only === "startup") {
    const start = await startup(work);
    console.log(table(startupRows(start)));
    return;
  }
  const standIns =
    only === "apiserver" || only === "rotation" ? { rows: [], results: {} } : await standInSteps(work);
  step("5/5 the real API server");
  const apiserver: RealApiServerResult = await realApiServer(work, step);
  if ("skipped" in apiserver) step(`5/5 skipped: ${apiserver.skipped}`);
  const rows: Row[] = [...standIns.rows, ...realApiServerRows(apiserver)];
  const host = machine();
  console.log(
    `\necr-webhook benchmark, ${new Date().toISOString()}: ${host.cpuModel} × ${host.cores}, Node ${host.node}`,
  );
  console.log(table(rows));
  const failed = rows.filter((r) => r.pass === false);
  console.log(
    failed.length === 0
      ? "\nEvery target met."
      : `\nTargets missed (${failed.length}): ${failed.map((r) => `${r.scenario}: ${r.figure}`).join("; ")}`,
  );
  console.log(`\nMethod:\n${NOTES.map((n) => `- ${n}`).join("\n")}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, only ? `only-${only}.json` : "latest.json");
  const report = {
    date: new Date().toISOString(),
    durationS: (Date.now() - started) / 1000,
    machine: host,
    notes: NOTES,
    rows,
    results: { ...standIns.results, apiserver },
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  step(`wrote ${file} (${report.durationS.toFixed(0)} s)`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error("[bench] the benchmark itself failed:", error);
    process.exit(1);
  },
);
