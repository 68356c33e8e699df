/**
 * 4. On a real kube-apiserver: what the webhook adds to a pod create, rotation against the raw
 * floor and the kubectl loop, cold namespaces in a burst, and `refresh`'s start-up. The webhook is
 * the shipped bundle with the image's flags, running as its own ServiceAccount; AWS is the stand-in.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { AdmissionregistrationV1Api } from "@kubernetes/client-node";
import { build } from "../../test/manifests/load.js";
import type { AwsStandIn } from "../../test/support/aws/index.js";
import { ADMIN_TOKEN } from "../../test/support/control-plane/control-plane.js";
import { managedSecret } from "../../test/support/managed-secret.js";
import { startTcpProxy } from "../../test/support/tcp-proxy.js";
import { spawnWebhook, startServe, type WebhookProcessOptions } from "../../test/support/webhook-process.js";
import { procScript } from "../lib/paths.js";
import { startChild } from "../lib/rpc.js";
import { RUNTIME_FLAGS } from "../lib/runtime-flags.js";
import { freePort } from "../../test/support/free-port.js";
import { procStats } from "../lib/proc-probe.js";
import { latencyOf, type Latency } from "../lib/stats.js";
import type { WorkDir } from "../lib/workdir.js";
import {
  admissionHistogram,
  apiClient,
  histogramDelta,
  histogramQuantile,
  type AdmissionHistogram,
  type RealCluster,
} from "./cluster.js";
import { PROBE_ANNOTATION } from "../lib/reviews.js";

export const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
export const REAL = {
  podsPerSide: 3_000,
  rounds: 5,
  rotationNamespaces: Number(process.env.BENCH_ROTATION_NAMESPACES ?? 10_000),
  /** BENCH_ONLY=clients compares clients on this many. */
  clientNamespaces: 1_000,
  concurrency: 16,
  kubectlSample: 20,
  coldNamespaces: 100,
  podsPerCold: 10,
};

export const podBody = (image: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { generateName: "bench-" },
  spec: { containers: [{ name: "c", image }] },
});

export async function createNamespaces(cluster: RealCluster, names: readonly string[], enabled: boolean) {
  const client = apiClient(cluster.state, ADMIN_TOKEN, 32);
  const labels = enabled ? { "ecr-webhook.io/inject": "enabled" } : {};
  await forEachLimit(names, 64, async (name) => {
    await client.send("POST", "/api/v1/namespaces", { metadata: { name, labels } });
    // The ServiceAccount admission plugin wants a ServiceAccount; no controller makes it here.
    await client.send("POST", `/api/v1/namespaces/${name}/serviceaccounts`, {
      metadata: { name: "default" },
    });
  });
  client.close();
}

/** The shipped webhook configuration, calling whatever listens on `port` by URL. */
export function registrationOf(work: WorkDir, cluster: RealCluster, port: number) {
  const registration = cluster.admin.makeApiClient(AdmissionregistrationV1Api);
  const config = structuredClone(
    build("webhook-config").find((o) => o.kind === "MutatingWebhookConfiguration")!,
  );
  for (const webhook of config.webhooks as { clientConfig: Record<string, unknown> }[]) {
    webhook.clientConfig = {
      url: `https://127.0.0.1:${port}/mutate`,
      caBundle: Buffer.from(work.ca).toString("base64"),
    };
  }
  return {
    register: async () => {
      await registration.createMutatingWebhookConfiguration({ body: config as never }).catch(() => undefined);
    },
    unregister: () =>
      registration.deleteMutatingWebhookConfiguration({ name: "ecr-webhook" }).then(
        () => undefined,
        () => undefined,
      ),
  };
}

/** The webhook process, registered by URL as the pods and serviceaccounts webhooks. */
interface Ports {
  readonly port: number;
  readonly metricsPort: number;
}

async function startWebhook(work: WorkDir, cluster: RealCluster, aws: AwsStandIn, ports: Ports) {
  const serve = await startServe({
    ...clusterOptions(cluster, aws, work.file(`webhook-${ports.port}.log`), await imageEnv(work)),
    ...ports,
    tls: work,
    // The shipped defaults (log level info: a line per review). Registered by URL, nothing balances
    // over it: stopping need not wait out endpoints.
    args: ["--shutdown-delay=0s"],
  });
  await serve.waitReady().catch(async (error: unknown) => {
    await serve.stop();
    throw error;
  });
  return {
    ...registrationOf(work, cluster, ports.port),
    /** Sum of a metric's samples, from the webhook's own /metrics. */
    metric: (name: string) => serve.metric(name),
    stop: async () => {
      await serve.stop();
    },
  };
}

/**
 * The image's environment (the Dockerfile's ENV): NODE_ENV=production and the compile cache the
 * image writes at build time (`--help` with the entrypoint's flags), written once per run.
 */
let imageCache: string | undefined;
export async function imageEnv(work: WorkDir): Promise<NodeJS.ProcessEnv> {
  if (!imageCache) {
    const dir = work.file("image-compile-cache");
    mkdirSync(dir, { recursive: true });
    await spawnWebhook(["--help"], { nodeFlags: RUNTIME_FLAGS, env: { NODE_COMPILE_CACHE: dir } }).exit;
    imageCache = dir;
  }
  return { NODE_ENV: "production", NODE_COMPILE_CACHE: imageCache };
}

/** The shipped bundle as the webhook's own ServiceAccount, with the Node flags and image env measured. */
const clusterOptions = (
  cluster: RealCluster,
  aws: AwsStandIn,
  logFile: string,
  env: NodeJS.ProcessEnv = {},
): WebhookProcessOptions => ({
  kubeconfig: cluster.webhookKubeconfig,
  aws,
  nodeFlags: RUNTIME_FLAGS,
  logFile,
  env,
});

/**
 * A dry-run probe pod: it names a pull Secret of its own, so the ServiceAccount admission plugin adds
 * none of the namespace's, and only a webhook adds ecr-pull-secret (the minimal one patches probes).
 */
const probeBody = () => ({
  ...podBody(`${REGISTRY}/probe:1`),
  metadata: { generateName: "probe-", annotations: { [PROBE_ANNOTATION]: "1" } },
  spec: { containers: [{ name: "c", image: `${REGISTRY}/probe:1` }], imagePullSecrets: [{ name: "probe" }] },
});

/** Waits until a dry-run probe pod comes back mutated (or not): the API server's view changed. */
export async function awaitMutation(cluster: RealCluster, namespace: string, mutated: boolean) {
  const client = apiClient(cluster.state, ADMIN_TOKEN, 1);
  try {
    for (let i = 0; i < 200; i++) {
      const res = await client.send("POST", `/api/v1/namespaces/${namespace}/pods?dryRun=All`, probeBody());
      const refs =
        (JSON.parse(res.body) as { spec?: { imagePullSecrets?: { name: string }[] } }).spec
          ?.imagePullSecrets ?? [];
      if (refs.some((r) => r.name === "ecr-pull-secret") === mutated) return;
      await sleep(100);
    }
    throw new Error(`the API server did not ${mutated ? "start" : "stop"} calling the webhook in 20 s`);
  } finally {
    client.close();
  }
}

/** Pod creates through no webhook, the minimal webhook and ecr-webhook. */
export type Side = "none" | "minimal" | "webhook";

/** p50/p99 of the API server's admission histogram for one webhook, estimated from its buckets. */
export interface HistogramEstimate {
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  count: number;
  /** Cumulative count at each bucket bound (seconds), the delta over the pod creates. */
  buckets: { le: number; count: number }[];
}

export interface AdmissionResult {
  podsEach: number;
  latency: Record<Side, Latency>;
  /** With a webhook minus without, at p50 and p99. */
  added: Record<Exclude<Side, "none">, { p50Ms: number; p99Ms: number }>;
  /** ecr-webhook's added cost ÷ the minimal webhook's. */
  ratio: { p50: number; p99: number };
  /** Mean time ecr-webhook itself took per review (its own histogram). */
  webhookMeanMs: number;
  /** The API server's own view of each webhook call, over the same pod creates. */
  apiserver: Record<Exclude<Side, "none">, HistogramEstimate>;
}

function estimate(h: AdmissionHistogram): HistogramEstimate {
  return {
    p50Ms: 1000 * histogramQuantile(h, 0.5),
    p99Ms: 1000 * histogramQuantile(h, 0.99),
    meanMs: (1000 * h.sum) / Math.max(1, h.count),
    count: h.count,
    buckets: h.buckets.map((b) => ({ le: b.le, count: b.count })),
  };
}

const WEBHOOK_NAME = "pods.ecr-webhook.io";

/**
 * Pod creates through the API server, one at a time over a keep-alive connection, in a warm enabled
 * namespace (its ServiceAccount carries the reference, as the webhook's reconciler leaves it): with
 * no webhook registered, the minimal webhook and ecr-webhook, in turns, the order rotated each round
 * (so machine noise falls on all three). The API server's histogram of the webhook call is read
 * before and after each turn.
 */
export async function podCreateLatency(
  work: WorkDir,
  cluster: RealCluster,
  aws: AwsStandIn,
  ports: Ports,
): Promise<AdmissionResult> {
  const namespace = "bench-warm";
  await createNamespaces(cluster, [namespace], true);
  const webhook = await startWebhook(work, cluster, aws, ports);
  const minimalPort = await freePort();
  const minimal = startChild(procScript("minimal"), { execArgv: [...RUNTIME_FLAGS] });
  await minimal.call("start", { certFile: work.certFile, keyFile: work.keyFile, port: minimalPort });
  const registrations = { webhook, minimal: registrationOf(work, cluster, minimalPort) };
  const client = apiClient(cluster.state, ADMIN_TOKEN, 1);
  const samples: Record<Side, number[]> = { none: [], minimal: [], webhook: [] };
  /** Each round's p99 per side: one burst of machine noise moves one round, not the figure. */
  const roundP99: Record<Side, number[]> = { none: [], minimal: [], webhook: [] };
  const empty = (): AdmissionHistogram => ({ buckets: [], count: 0, sum: 0 });
  const seen = { minimal: empty(), webhook: empty() };
  let webhookMeanMs = NaN;
  const create = () =>
    client.send("POST", `/api/v1/namespaces/${namespace}/pods`, podBody(`${REGISTRY}/app:1`));
  try {
    await sleep(1_500);
    const perRound = Math.ceil(REAL.podsPerSide / REAL.rounds);
    const turn = async (side: Side) => {
      if (side !== "none") await registrations[side].register();
      await awaitMutation(cluster, namespace, side !== "none");
      for (let i = 0; i < 20; i++) await create();
      const before = await admissionHistogram(cluster.state, WEBHOOK_NAME);
      const round: number[] = [];
      for (let i = 0; i < perRound; i++) {
        const res = await create();
        if (res.status === 201) round.push(res.ms);
      }
      samples[side].push(...round);
      roundP99[side].push(latencyOf(round).p99Ms);
      if (side === "none") return;
      const delta = histogramDelta(before, await admissionHistogram(cluster.state, WEBHOOK_NAME));
      seen[side] = addHistograms(seen[side], delta);
      await registrations[side].unregister();
    };
    const order: Side[] = ["none", "minimal", "webhook"];
    for (let round = 0; round < REAL.rounds; round++) {
      for (let i = 0; i < order.length; i++) await turn(order[(i + round) % order.length]!);
    }
    const seconds = await webhook.metric("ecr_webhook_admission_review_duration_seconds_sum");
    const reviews = await webhook.metric("ecr_webhook_admission_review_duration_seconds_count");
    webhookMeanMs = (1000 * seconds) / reviews;
  } finally {
    client.close();
    await webhook.stop();
    await minimal.stop();
  }
  // p50 over every sample; p99 the median of the rounds' p99s, and the added p99 the median of
  // each round's difference (the turns of a round are minutes apart at most).
  const withRoundP99 = (side: Side): Latency => ({
    ...latencyOf(samples[side]),
    p99Ms: median(roundP99[side]),
  });
  const latency = {
    none: withRoundP99("none"),
    minimal: withRoundP99("minimal"),
    webhook: withRoundP99("webhook"),
  };
  const addedBy = (side: "minimal" | "webhook") => ({
    p50Ms: latency[side].p50Ms - latency.none.p50Ms,
    p99Ms: median(roundP99[side].map((p, i) => p - roundP99.none[i]!)),
  });
  const added = { minimal: addedBy("minimal"), webhook: addedBy("webhook") };
  return {
    podsEach: Math.min(...Object.values(samples).map((s) => s.length)),
    latency,
    added,
    ratio: {
      p50: added.webhook.p50Ms / added.minimal.p50Ms,
      p99: added.webhook.p99Ms / added.minimal.p99Ms,
    },
    webhookMeanMs,
    apiserver: { minimal: estimate(seen.minimal), webhook: estimate(seen.webhook) },
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function addHistograms(a: AdmissionHistogram, b: AdmissionHistogram): AdmissionHistogram {
  const at = (h: AdmissionHistogram, le: number) => h.buckets.find((x) => x.le === le)?.count ?? 0;
  const bounds = [...new Set([...a.buckets, ...b.buckets].map((x) => x.le))].sort((x, y) => x - y);
  return {
    buckets: bounds.map((le) => ({ le, count: at(a, le) + at(b, le) })),
    count: a.count + b.count,
    sum: a.sum + b.sum,
  };
}

/** One `refresh` run on the real API server. */
export interface RefreshRun {
  /** The cycle as refresh's summary line reports it. */
  cycleMs: number;
  /** Spawn to exit. */
  wallMs: number;
  /** Requests the API server logged from the webhook's ServiceAccount during the run (audit log). */
  requests: number;
  /** VmHWM of the refresh process, sampled from /proc until it exited. */
  peakRssBytes: number;
  refreshed: number;
  ecrCalls: number;
}

export interface RealRotationResult {
  namespaces: number;
  concurrency: number;
  /** The run through the counting proxy: connections, and the time to the first one. */
  proxied: RefreshRun & { connections: number; startupMs: number };
  /** The run straight to the API server. */
  direct: RefreshRun;
  /** The better of the two cycles (the proxy can only slow refresh). */
  cycleMs: number;
  /** One PUT per namespace from a bare keep-alive client, same concurrency, same identity. */
  floor: { runsMs: number[]; ms: number; requests: number; connections: number };
  ratioToFloor: number;
  /** Time to create the namespaces (each with its ServiceAccount), in parallel batches. */
  setupMs: number;
  kubectl:
    { skipped: string } | { perNamespaceMs: number; sample: number; version: string; failures: number };
  speedUpPerNamespace?: number;
}

/** Every namespace's Secret written stale again (expiring in 1 h), so the next pass refreshes all. */
export async function seedStale(cluster: RealCluster, names: readonly string[]) {
  const client = apiClient(cluster.state, ADMIN_TOKEN, 32);
  const expires = new Date(Date.now() + 3_600_000);
  await forEachLimit(names, 64, async (ns) => {
    const body = managedSecret(ns, { [REGISTRY]: `stale-${ns}` }, expires);
    const put = await client.send("PUT", `/api/v1/namespaces/${ns}/secrets/ecr-pull-secret`, body);
    if (put.status === 404) await client.send("POST", `/api/v1/namespaces/${ns}/secrets`, body);
  });
  client.close();
}

/** `work` for every item, `limit` at a time. */
async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

const SUMMARY = /(\d+) refreshed, .* \((\d+) ECR calls, (\d+) ms/;

/** The figures of refresh's summary line: refreshed, ECR calls, milliseconds. */
function summaryOf(output: string): RegExpExecArray {
  const m = SUMMARY.exec(output);
  if (!m) throw new Error(`refresh printed no summary: ${output.slice(-1000)}`);
  return m;
}

const WEBHOOK_USER = '"username":"system:serviceaccount:ecr-webhook:ecr-webhook"';

/** Counts the audit events of the webhook's ServiceAccount written while `run` runs. */
async function auditedRequests<T>(cluster: RealCluster, run: () => Promise<T>): Promise<[T, number]> {
  const from = statSync(cluster.state.auditLog).size;
  const result = await run();
  // The audit log is written before each answer (--audit-log-mode=blocking): complete at this point.
  const to = statSync(cluster.state.auditLog).size;
  const fd = openSync(cluster.state.auditLog, "r");
  let count = 0;
  try {
    const chunk = Buffer.alloc(1 << 20);
    let rest = "";
    for (let at = from; at < to;) {
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, to - at), at);
      if (n <= 0) break;
      at += n;
      const lines = (rest + chunk.toString("utf8", 0, n)).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) if (line.includes(WEBHOOK_USER)) count += 1;
    }
    if (rest.includes(WEBHOOK_USER)) count += 1;
  } finally {
    closeSync(fd);
  }
  return [result, count];
}

/**
 * One `refresh` with the shipped defaults (no flags: --rotation-concurrency 16), as the webhook's
 * ServiceAccount, its peak RSS sampled from /proc until it exits.
 */
async function refreshRun(
  { work, cluster, aws }: { work: WorkDir; cluster: RealCluster; aws: AwsStandIn },
  kubeconfig: string,
  log: string,
) {
  const started = performance.now();
  const refresh = spawnWebhook(["refresh"], {
    ...clusterOptions(cluster, aws, work.file(log), await imageEnv(work)),
    kubeconfig,
  });
  let peakRssBytes = 0;
  const sampler = setInterval(() => {
    try {
      peakRssBytes = Math.max(peakRssBytes, procStats(refresh.pid).peakRssBytes);
    } catch {
      // exited between two samples
    }
  }, 10);
  await refresh.exit;
  clearInterval(sampler);
  const wallMs = performance.now() - started;
  const m = summaryOf(refresh.stdout());
  return { cycleMs: Number(m[3]), wallMs, peakRssBytes, refreshed: Number(m[1]), ecrCalls: Number(m[2]) };
}

/** `refresh` straight to the API server. */
async function refreshDirect(work: WorkDir, cluster: RealCluster, aws: AwsStandIn): Promise<RefreshRun> {
  const [run, requests] = await auditedRequests(cluster, () =>
    refreshRun({ work, cluster, aws }, cluster.webhookKubeconfig, "refresh-direct.log"),
  );
  return { ...run, requests };
}

/** `refresh` through a TCP proxy that tells when its first connection came and how many came. */
async function refreshProxied(work: WorkDir, cluster: RealCluster, aws: AwsStandIn) {
  const kubeconfig = JSON.parse(readFileSync(cluster.webhookKubeconfig, "utf8"));
  const proxy = await startTcpProxy(Number(new URL(cluster.state.server).port));
  let firstAt = 0;
  const watching = setInterval(() => {
    if (!firstAt && proxy.accepted() > 0) firstAt = performance.now();
  }, 1);
  kubeconfig.clusters[0].cluster.server = `https://127.0.0.1:${proxy.port}`;
  const file = work.file("refresh-proxied.kubeconfig");
  writeFileSync(file, JSON.stringify(kubeconfig), { mode: 0o600 });
  const started = performance.now();
  const [run, requests] = await auditedRequests(cluster, () =>
    refreshRun({ work, cluster, aws }, file, "refresh-proxied.log"),
  );
  clearInterval(watching);
  const connections = proxy.accepted();
  await proxy.close();
  return { ...run, requests, connections, startupMs: firstAt - started };
}

/** The webhook ServiceAccount's bearer token, from the kubeconfig the bench wrote for it. */
const webhookToken = (cluster: RealCluster): string =>
  (JSON.parse(readFileSync(cluster.webhookKubeconfig, "utf8")) as { users: { user: { token: string } }[] })
    .users[0]!.user.token;

/**
 * The floor: one PUT per namespace (the Secret refresh would write, with a password as long as the
 * one ECR — the stand-in — hands out, so both write the same bytes; unconditional, so no read
 * first), from a bare keep-alive client at the same concurrency, as the same ServiceAccount (so
 * authorisation and the audit log cost both the same).
 */
async function floorOnce(cluster: RealCluster, names: readonly string[], password: string) {
  const client = apiClient(cluster.state, webhookToken(cluster), REAL.concurrency);
  const fresh = new Date(Date.now() + 12 * 3_600_000);
  let failures = 0;
  const [ms, requests] = await auditedRequests(cluster, async () => {
    const started = performance.now();
    await forEachLimit(names, REAL.concurrency, async (ns) => {
      const body = managedSecret(ns, { [REGISTRY]: password }, fresh);
      const put = await client.send("PUT", `/api/v1/namespaces/${ns}/secrets/ecr-pull-secret`, body);
      if (put.status !== 200) failures += 1;
    });
    return performance.now() - started;
  });
  const connections = Object.values(client.agent.freeSockets).reduce((n, l) => n + (l?.length ?? 0), 0);
  client.close();
  if (failures > 0) throw new Error(`the floor's PUTs failed ${failures} times`);
  return { ms, requests, connections };
}

const PIPELINE =
  '"$KUBECTL" create secret docker-registry ecr-pull-secret --namespace="$NS" --docker-server="$REGISTRY" ' +
  '--docker-username=AWS --docker-password=token --dry-run=client -o yaml | "$KUBECTL" apply -f - > /dev/null';

async function kubectlLoop(
  cluster: RealCluster,
  names: readonly string[],
): Promise<RealRotationResult["kubectl"]> {
  if (!cluster.kubectl) return { skipped: "no kubectl next to kube-apiserver" };
  const version =
    spawnSync(cluster.kubectl, ["version", "--client"], { encoding: "utf8" }).stdout.split("\n")[0] ?? "";
  const base = {
    PATH: process.env.PATH,
    HOME: cluster.state.dir,
    KUBECONFIG: cluster.state.adminKubeconfig,
    KUBECTL: cluster.kubectl,
    REGISTRY,
  };
  const sh = (ns: string) =>
    new Promise<number>((resolve) => {
      const child = spawn("sh", ["-c", PIPELINE], { env: { ...base, NS: ns }, stdio: "ignore" });
      child.on("exit", (code) => resolve(code ?? 1));
    });
  await sh(names[0]!); // fills kubectl's discovery cache, as the first namespace of a real run would
  let failures = 0;
  const started = performance.now();
  for (const ns of names) if ((await sh(ns)) !== 0) failures += 1;
  return {
    perNamespaceMs: (performance.now() - started) / names.length,
    sample: names.length,
    version,
    failures,
  };
}

export async function realRotation(
  work: WorkDir,
  cluster: RealCluster,
  aws: AwsStandIn,
  step: (text: string) => void,
): Promise<RealRotationResult> {
  const names = Array.from(
    { length: REAL.rotationNamespaces },
    (_, i) => `rot-${String(i).padStart(5, "0")}`,
  );
  await imageEnv(work); // written before any run is timed
  const setupStarted = performance.now();
  await createNamespaces(cluster, names, true);
  const setupMs = performance.now() - setupStarted;
  step(`    ${names.length} namespaces created in ${(setupMs / 1000).toFixed(0)} s`);
  // Refresh through the counting proxy, then the floor; refresh straight to the API server, then the
  // floor again: in turns, so that machine noise falls on both; the better of each kept.
  await seedStale(cluster, names);
  const proxied = await refreshProxied(work, cluster, aws);
  const password = aws.tokens.at(-1)!.password;
  const floor1 = await floorOnce(cluster, names, password);
  await seedStale(cluster, names);
  const direct = await refreshDirect(work, cluster, aws);
  const floor2 = await floorOnce(cluster, names, password);
  const cycleMs = Math.min(proxied.cycleMs, direct.cycleMs);
  const floorMs = Math.min(floor1.ms, floor2.ms);
  const kubectl = await kubectlLoop(cluster, names.slice(0, REAL.kubectlSample));
  const perNamespace = cycleMs / names.length;
  return {
    namespaces: names.length,
    concurrency: REAL.concurrency,
    proxied,
    direct,
    cycleMs,
    floor: {
      runsMs: [floor1.ms, floor2.ms],
      ms: floorMs,
      requests: Math.max(floor1.requests, floor2.requests),
      connections: Math.max(floor1.connections, floor2.connections),
    },
    ratioToFloor: cycleMs / floorMs,
    setupMs,
    kubectl,
    ...("perNamespaceMs" in kubectl ? { speedUpPerNamespace: kubectl.perNamespaceMs / perNamespace } : {}),
  };
}

export interface ColdResult {
  namespaces: number;
  pods: number;
  latency: Latency;
  errors: number;
  ecrCalls: number;
  secretWrites: number;
  missingReference: number;
}

/** 100 new namespaces × 10 pods, all at once, through the API server with the webhook registered. */
export async function coldNamespaces(
  work: WorkDir,
  cluster: RealCluster,
  aws: AwsStandIn,
  ports: Ports,
): Promise<ColdResult> {
  const names = Array.from({ length: REAL.coldNamespaces }, (_, i) => `cold-${String(i).padStart(3, "0")}`);
  await createNamespaces(cluster, names, true);
  const webhook = await startWebhook(work, cluster, aws, ports);
  await sleep(1_500);
  await webhook.register();
  await awaitMutation(cluster, "bench-warm", true);
  const ecrBefore = aws.count({ action: "GetAuthorizationToken" });
  const client = apiClient(cluster.state, ADMIN_TOKEN, 64);
  const results = await Promise.all(
    names.flatMap((ns) =>
      Array.from({ length: REAL.podsPerCold }, () =>
        client.send("POST", `/api/v1/namespaces/${ns}/pods`, podBody(`${REGISTRY}/app:1`)),
      ),
    ),
  );
  const ok = results.filter((r) => r.status === 201);
  const missingReference = ok.filter(
    (r) =>
      !(
        JSON.parse(r.body) as { spec: { imagePullSecrets?: { name: string }[] } }
      ).spec.imagePullSecrets?.some((s) => s.name === "ecr-pull-secret"),
  ).length;
  const secretWrites = await webhook.metric("ecr_webhook_secret_writes_total");
  client.close();
  await webhook.unregister();
  await webhook.stop();
  return {
    namespaces: names.length,
    pods: results.length,
    latency: latencyOf(results.map((r) => r.ms)),
    errors: results.length - ok.length,
    ecrCalls: aws.count({ action: "GetAuthorizationToken" }) - ecrBefore,
    secretWrites,
    missingReference,
  };
}
