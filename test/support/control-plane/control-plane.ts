/**
 * A real control plane on loopback: etcd, kube-apiserver (RBAC, the default admission plugins,
 * TokenRequest, an audit log) and, when present, kube-controller-manager with the controllers the
 * webhook's users depend on. Started once by the global setup; its state is written to a file so
 * that a test can restart the API server (same flags, same etcd) from its own worker process.
 */
import { generateKeyPairSync } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { issueServingBundle } from "../../../src/tls/issue.js";
import { freePort } from "../free-port.js";
import { launch, terminate } from "../process-control.js";
import type { Binaries } from "./discovery.js";

export const ADMIN_TOKEN = "e2e-admin-token";
/** A namespace tenant: bound to the built-in `edit` ClusterRole in the namespaces tests give it. */
export const TENANT_TOKEN = "e2e-tenant-token";
export const TENANT_USER = "tenant";

export interface ControlPlaneState {
  readonly dir: string;
  readonly server: string;
  readonly caCert: string;
  readonly adminKubeconfig: string;
  readonly auditLog: string;
  readonly apiServerLog: string;
  readonly apiServerArgs: readonly string[];
  readonly binaries: Binaries;
  /** Whether kube-controller-manager runs (namespace deletion, default ServiceAccounts, ReplicaSets). */
  readonly controllers: boolean;
  pids: { etcd: number; apiServer: number; controllerManager?: number };
  /** Each start of kube-apiserver: until its RBAC caches have synced it refuses even granted requests. */
  apiServerStarts: { launchedAt: number; readyAt?: number }[];
}

/** What users of the webhook lean on: namespace deletion, default ServiceAccounts, workloads, and
 * the aggregated `edit`/`view` roles a namespace tenant is given. */
const CONTROLLERS = [
  "namespace",
  "serviceaccount",
  "deployment",
  "replicaset",
  "garbagecollector",
  "clusterrole-aggregation",
];

function kubeconfigFor(server: string, caCert: string, token: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "e2e",
        cluster: { server, "certificate-authority-data": Buffer.from(caCert).toString("base64") },
      },
    ],
    users: [{ name: "user", user: { token } }],
    contexts: [{ name: "e2e", context: { cluster: "e2e", user: "user" } }],
    "current-context": "e2e",
  });
}

export function writeKubeconfig(state: ControlPlaneState, token: string, file: string): string {
  writeFileSync(file, kubeconfigFor(state.server, state.caCert, token), { mode: 0o600 });
  return file;
}

/** GET `path` as admin; resolves with the HTTP status (0 when nothing answered). */
function probe(state: Pick<ControlPlaneState, "server" | "caCert">, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `${state.server}${path}`,
      { ca: state.caCert, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, timeout: 2_000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

export async function waitForApiServer(
  state: Pick<ControlPlaneState, "server" | "caCert" | "apiServerLog">,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await probe(state, "/readyz")) === 200) return;
    await sleep(250);
  }
  const tail = readFileSync(state.apiServerLog, "utf8").split("\n").slice(-30).join("\n");
  throw new Error(`kube-apiserver not ready within ${timeoutMs} ms; its log ends:\n${tail}`);
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  # What the webhook's own identities do, to compare with what RBAC grants them.
  - level: Metadata
    userGroups: ["system:serviceaccounts:ecr-webhook"]
  - level: None
`;

export async function startControlPlane(
  binaries: Binaries,
  dir: string,
  options: { controllers?: boolean } = {},
): Promise<ControlPlaneState> {
  const withControllers = (options.controllers ?? true) && binaries.controllerManager !== undefined;
  await mkdir(join(dir, "etcd"), { recursive: true });
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const pki = await issueServingBundle({
    dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
    ipAddresses: ["127.0.0.1", "10.0.0.1"],
    validityDays: 7,
    // Verified by the control plane's and the webhook's TLS stacks, on the real clock.
    now: new Date(),
    caCommonName: "e2e-cluster-ca",
  });
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const saKey = file("sa.key", privateKey.export({ type: "pkcs8", format: "pem" }) as string);
  const saPub = file("sa.pub", publicKey.export({ type: "spki", format: "pem" }) as string);
  const tokens = file(
    "tokens.csv",
    `${ADMIN_TOKEN},admin,admin-uid,"system:masters"\n${TENANT_TOKEN},${TENANT_USER},tenant-uid\n`,
  );
  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  const etcdPid = launch(
    binaries.etcd,
    [
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
    ],
    join(dir, "etcd.log"),
  );
  const state: ControlPlaneState = {
    dir,
    server: `https://127.0.0.1:${apiPort}`,
    caCert: pki.ca.cert,
    adminKubeconfig: join(dir, "admin.kubeconfig"),
    auditLog: join(dir, "audit.log"),
    apiServerLog: join(dir, "kube-apiserver.log"),
    binaries,
    controllers: withControllers,
    apiServerArgs: [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${file("apiserver.crt", pki.serving.cert)}`,
      `--tls-private-key-file=${file("apiserver.key", pki.serving.key)}`,
      `--client-ca-file=${file("ca.crt", pki.ca.cert)}`,
      `--token-auth-file=${tokens}`,
      "--authorization-mode=RBAC",
      "--anonymous-auth=false",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      "--service-cluster-ip-range=10.0.0.0/24",
      `--audit-policy-file=${file("audit-policy.yaml", AUDIT_POLICY)}`,
      `--audit-log-path=${join(dir, "audit.log")}`,
      "--audit-log-mode=blocking",
    ],
    pids: { etcd: etcdPid, apiServer: 0 },
    apiServerStarts: [],
  };
  writeKubeconfig(state, ADMIN_TOKEN, state.adminKubeconfig);
  await launchApiServer(state);
  if (withControllers) {
    state.pids.controllerManager = launch(
      binaries.controllerManager,
      [
        `--kubeconfig=${state.adminKubeconfig}`,
        `--controllers=${CONTROLLERS.join(",")}`,
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        `--secure-port=${await freePort()}`,
        `--authentication-kubeconfig=${state.adminKubeconfig}`,
        `--authorization-kubeconfig=${state.adminKubeconfig}`,
        "--concurrent-namespace-syncs=4",
      ],
      join(dir, "kube-controller-manager.log"),
    );
    saveState(state);
  }
  return state;
}

export const stateFile = (dir: string) => join(dir, "state.json");

export function saveState(state: ControlPlaneState): void {
  writeFileSync(stateFile(state.dir), JSON.stringify(state, null, 2));
}

export function loadState(dir: string): ControlPlaneState {
  return JSON.parse(readFileSync(stateFile(dir), "utf8")) as ControlPlaneState;
}

/** How long etcd and kube-apiserver get to stop before SIGKILL. */
const STOP_MS = 10_000;

async function launchApiServer(state: ControlPlaneState): Promise<void> {
  const start: { launchedAt: number; readyAt?: number } = { launchedAt: Date.now() };
  state.apiServerStarts.push(start);
  state.pids.apiServer = launch(state.binaries.apiServer, state.apiServerArgs, state.apiServerLog);
  saveState(state);
  await waitForApiServer(state);
  start.readyAt = Date.now();
  saveState(state);
}

/** Stops kube-apiserver and starts it again with the same flags over the same etcd. */
export async function restartApiServer(dir: string): Promise<void> {
  const state = loadState(dir);
  await terminate(state.pids.apiServer, STOP_MS);
  await launchApiServer(state);
}

export async function stopControlPlane(dir: string): Promise<void> {
  if (!existsSync(stateFile(dir))) return;
  const { pids } = loadState(dir);
  await terminate(pids.controllerManager, STOP_MS);
  await terminate(pids.apiServer, STOP_MS);
  await terminate(pids.etcd, STOP_MS);
}
