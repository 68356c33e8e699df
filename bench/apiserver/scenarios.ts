/**
 * 4. On a real kube-apiserver: what the webhook adds to a pod create, rotation against the raw
 * floor and the kubectl loop, cold namespaces in a burst, and `refresh`'s start-up. The webhook is
 * the shipped bundle with the image's flags, running as its own ServiceAccount; AWS is the stand-in.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
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
import { latencyOf, type Latency } from "../lib/stats.js";
import type { WorkDir } from "../lib/workdir.js";
import { apiClient, type RealCluster } from "./cluster.js";

export const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
export const REAL = {
  podsPerSide: 300,
  rounds: 3,
  rotationNamespaces: 1_000,
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
  const client = apiClient(cluster.state, ADMIN_TOKEN, 16);
  const labels = enabled ? { "ecr-webhook.io/inject": "enabled" } : {};
  for (let i = 0; i < names.length; i += 32) {
    await Promise.all(
      names.slice(i, i + 32).map(async (name) => {
        await client.send("POST", "/api/v1/namespaces", { metadata: { name, labels } });
        // The ServiceAccount admission plugin wants a ServiceAccount; no controller makes it here.
        await client.send("POST", `/api/v1/namespaces/${name}/serviceaccounts`, {
          metadata: { name: "default" },
        });
      }),
    );
  }
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
    ...clusterOptions(cluster, aws, work.file(`webhook-${ports.port}.log`)),
    ...ports,
    tls: work,
    // Registered by URL, nothing balances over it: stopping need not wait out endpoints.
    args: ["--log-level=warn", "--shutdown-delay=0s", "--rotation-interval=6h"],
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

/** The shipped bundle as the webhook's own ServiceAccount, with the Node flags measured. */
const clusterOptions = (cluster: RealCluster, aws: AwsStandIn, logFile: string): WebhookProcessOptions => ({
  kubeconfig: cluster.webhookKubeconfig,
  aws,
  nodeFlags: RUNTIME_FLAGS,
  logFile,
});

/** Waits until a server-side dry-run pod comes back mutated (or not): the API server's view changed. */
export async function awaitMutation(cluster: RealCluster, namespace: string, mutated: boolean) {
  const client = apiClient(cluster.state, ADMIN_TOKEN, 1);
  for (let i = 0; i < 200; i++) {
    const res = await client.send(
      "POST",
      `/api/v1/namespaces/${namespace}/pods?dryRun=All`,
      podBody(`${REGISTRY}/probe:1`),
    );
    const has =
      (JSON.parse(res.body) as { spec?: { imagePullSecrets?: unknown[] } }).spec?.imagePullSecrets !==
      undefined;
    if (has === mutated) break;
    await sleep(100);
  }
  client.close();
}

export interface AdmissionResult {
  withWebhook: Latency;
  withoutWebhook: Latency;
  podsEach: number;
  addedP50Ms: number;
  /** Mean time the webhook itself took per review (its own histogram), of what it adds. */
  webhookMeanMs: number;
  /** The same creates through a webhook that does nothing but answer (same patch): any webhook's cost. */
  withMinimal: Latency;
  minimalAddsP50Ms: number;
}

/**
 * Pod creates through the API server, one at a time over a keep-alive connection, in a warm enabled
 * namespace: with the webhook registered and without, in turns (so machine noise falls on both).
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
  const minimalRegistration = registrationOf(work, cluster, minimalPort);
  const client = apiClient(cluster.state, ADMIN_TOKEN, 1);
  const samples = { with: [] as number[], without: [] as number[], minimal: [] as number[] };
  let webhookMeanMs = NaN;
  try {
    await sleep(1_500);
    const perRound = Math.ceil(REAL.podsPerSide / REAL.rounds);
    const run = async (into: number[]) => {
      for (let i = 0; i < 20; i++)
        await client.send("POST", `/api/v1/namespaces/${namespace}/pods`, podBody(`${REGISTRY}/app:1`));
      for (let i = 0; i < perRound; i++) {
        const res = await client.send(
          "POST",
          `/api/v1/namespaces/${namespace}/pods`,
          podBody(`${REGISTRY}/app:1`),
        );
        if (res.status === 201) into.push(res.ms);
      }
    };
    for (let round = 0; round < REAL.rounds; round++) {
      await webhook.register();
      await awaitMutation(cluster, namespace, true);
      await run(samples.with);
      await webhook.unregister();
      await awaitMutation(cluster, namespace, false);
      await run(samples.without);
      await minimalRegistration.register();
      await awaitMutation(cluster, namespace, true);
      await run(samples.minimal);
      await minimalRegistration.unregister();
      await awaitMutation(cluster, namespace, false);
    }
    const seconds = await webhook.metric("ecr_webhook_admission_review_duration_seconds_sum");
    const reviews = await webhook.metric("ecr_webhook_admission_review_duration_seconds_count");
    webhookMeanMs = (1000 * seconds) / reviews;
  } finally {
    client.close();
    await webhook.stop();
    await minimal.stop();
  }
  const withWebhook = latencyOf(samples.with);
  const withoutWebhook = latencyOf(samples.without);
  const withMinimal = latencyOf(samples.minimal);
  return {
    withWebhook,
    withoutWebhook,
    podsEach: samples.with.length,
    addedP50Ms: withWebhook.p50Ms - withoutWebhook.p50Ms,
    webhookMeanMs,
    withMinimal,
    minimalAddsP50Ms: withMinimal.p50Ms - withoutWebhook.p50Ms,
  };
}

export interface RealRotationResult {
  namespaces: number;
  concurrency: number;
  refresh: {
    cycleMs: number;
    proxiedCycleMs: number;
    wallMs: number;
    startupMs: number;
    connections: number;
    refreshed: number;
    ecrCalls: number;
  };
  floorMs: number;
  ratioToFloor: number;
  kubectl:
    { skipped: string } | { perNamespaceMs: number; sample: number; version: string; failures: number };
  speedUpPerNamespace?: number;
}

/** Every namespace's Secret written stale again (expiring in 1 h), so the next pass refreshes all. */
export async function seedStale(cluster: RealCluster, names: readonly string[]) {
  const client = apiClient(cluster.state, ADMIN_TOKEN, 16);
  const expires = new Date(Date.now() + 3_600_000);
  for (let i = 0; i < names.length; i += 32) {
    await Promise.all(
      names.slice(i, i + 32).map(async (ns) => {
        const body = managedSecret(ns, { [REGISTRY]: `stale-${ns}` }, expires);
        const put = await client.send("PUT", `/api/v1/namespaces/${ns}/secrets/ecr-pull-secret`, body);
        if (put.status === 404) await client.send("POST", `/api/v1/namespaces/${ns}/secrets`, body);
      }),
    );
  }
  client.close();
}

const SUMMARY = /(\d+) refreshed, .* \((\d+) ECR calls, (\d+) ms/;

/** The figures of refresh's summary line: refreshed, ECR calls, milliseconds. */
function summaryOf(output: string): RegExpExecArray {
  const m = SUMMARY.exec(output);
  if (!m) throw new Error(`refresh printed no summary: ${output.slice(-1000)}`);
  return m;
}

/** One `refresh`, straight to the API server: the cycle as the summary line reports it. */
async function refreshDirect(work: WorkDir, cluster: RealCluster, aws: AwsStandIn) {
  const refresh = spawnWebhook(
    ["refresh", `--rotation-concurrency=${REAL.concurrency}`, "--log-level=warn"],
    clusterOptions(cluster, aws, work.file("refresh-direct.log")),
  );
  await refresh.exit;
  return Number(summaryOf(refresh.stdout())[3]);
}

/** One `refresh` through a TCP proxy that tells when its first connection came and how many came. */
async function refreshOnce(work: WorkDir, cluster: RealCluster, aws: AwsStandIn) {
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
  const refresh = spawnWebhook(
    ["refresh", `--rotation-concurrency=${REAL.concurrency}`, "--log-level=warn"],
    {
      ...clusterOptions(cluster, aws, work.file("refresh.log")),
      kubeconfig: file,
    },
  );
  await refresh.exit;
  const wallMs = performance.now() - started;
  clearInterval(watching);
  const connections = proxy.accepted();
  await proxy.close();
  const m = summaryOf(refresh.stdout());
  return {
    cycleMs: Number(m[3]),
    wallMs,
    startupMs: firstAt - started,
    connections,
    refreshed: Number(m[1]),
    ecrCalls: Number(m[2]),
  };
}

/**
 * The same GET and PUT per namespace from a bare keep-alive client at the same concurrency, with a
 * password as long as the one ECR (the stand-in) hands out, so both write the same bytes.
 */
async function floorOnce(cluster: RealCluster, names: readonly string[], password: string): Promise<number> {
  const client = apiClient(cluster.state, ADMIN_TOKEN, REAL.concurrency);
  const fresh = new Date(Date.now() + 12 * 3_600_000);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < names.length) {
      const ns = names[next++]!;
      const got = await client.send("GET", `/api/v1/namespaces/${ns}/secrets/ecr-pull-secret`);
      const current = JSON.parse(got.body) as { metadata: { resourceVersion: string } };
      const body = managedSecret(ns, { [REGISTRY]: password }, fresh) as {
        metadata: Record<string, unknown>;
      };
      body.metadata.resourceVersion = current.metadata.resourceVersion;
      await client.send("PUT", `/api/v1/namespaces/${ns}/secrets/ecr-pull-secret`, body);
    }
  };
  await Promise.all(Array.from({ length: REAL.concurrency }, worker));
  const ms = performance.now() - started;
  client.close();
  return ms;
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
): Promise<RealRotationResult> {
  const names = Array.from(
    { length: REAL.rotationNamespaces },
    (_, i) => `rot-${String(i).padStart(4, "0")}`,
  );
  await createNamespaces(cluster, names, true);
  // Once through the counting proxy (connections, start-up); then refresh and the floor in turns,
  // twice each, straight to the API server (the proxy would slow only one side); the better kept.
  await seedStale(cluster, names);
  const proxied = await refreshOnce(work, cluster, aws);
  const cycles = [];
  const floors = [];
  for (let round = 0; round < 2; round++) {
    await seedStale(cluster, names);
    cycles.push(await refreshDirect(work, cluster, aws));
    await seedStale(cluster, names);
    floors.push(await floorOnce(cluster, names, aws.tokens.at(-1)!.password));
  }
  const refresh = { ...proxied, cycleMs: Math.min(...cycles), proxiedCycleMs: proxied.cycleMs };
  const floorMs = Math.min(...floors);
  const kubectl = await kubectlLoop(cluster, names.slice(0, REAL.kubectlSample));
  const perNamespace = refresh.cycleMs / names.length;
  return {
    namespaces: names.length,
    concurrency: REAL.concurrency,
    refresh,
    floorMs,
    ratioToFloor: refresh.cycleMs / floorMs,
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
