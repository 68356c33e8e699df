/**
 * The real-API-server part of the benchmark: etcd and kube-apiserver on loopback, found as the e2e
 * suite finds them (KUBEBUILDER_ASSETS, then setup-envtest's cache), the shipped RBAC applied, and a
 * kubeconfig with the webhook ServiceAccount's own token. No controller manager: nothing here needs
 * one, and it would only add noise (the ServiceAccounts pods run as are created by hand).
 */
import { existsSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { CoreV1Api, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { PooledKubeConfig } from "../../src/kube/pooled-kube-config.js";
import { build } from "../../test/manifests/load.js";
import {
  ADMIN_TOKEN,
  startControlPlane,
  stopControlPlane,
  type ControlPlaneState,
} from "../../test/support/control-plane/control-plane.js";
import { startAwsStandIn, type AwsStandIn } from "../../test/support/aws/index.js";
import { discover } from "../../test/support/control-plane/discovery.js";
import type { WorkDir } from "../lib/workdir.js";

export interface RealCluster {
  readonly state: ControlPlaneState;
  readonly admin: PooledKubeConfig;
  readonly core: CoreV1Api;
  /** kubeconfig file with a TokenRequest token of ServiceAccount ecr-webhook/ecr-webhook. */
  readonly webhookKubeconfig: string;
  readonly kubectl?: string;
  readonly version: string;
  close(): Promise<void>;
}

export type Found = { cluster: RealCluster } | { skipped: string };

function kubeconfigFile(state: ControlPlaneState, token: string, file: string): string {
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "bench",
          cluster: {
            server: state.server,
            "certificate-authority-data": Buffer.from(state.caCert).toString("base64"),
          },
        },
      ],
      users: [{ name: "u", user: { token } }],
      contexts: [{ name: "bench", context: { cluster: "bench", user: "u" } }],
      "current-context": "bench",
    }),
    { mode: 0o600 },
  );
  return file;
}

/** The token a TokenRequest answered with (the API server always sets it on success). */
function issuedToken(request: { status?: { token?: string } }): string {
  if (!request.status?.token) throw new Error("the TokenRequest was answered without a token");
  return request.status.token;
}

export async function startRealCluster(work: WorkDir): Promise<Found> {
  const found = discover();
  if (found.kind !== "binaries") {
    return {
      skipped:
        found.kind === "none"
          ? `no kube-apiserver and etcd found (${found.lookedAt.join("; ")})`
          : "a cluster named by ECR_WEBHOOK_E2E_KUBECONFIG is not benchmarked: the figures need loopback",
    };
  }
  const state = await startControlPlane(found.binaries, join(work.dir, "control-plane"), {
    controllers: false,
  });
  const admin = new PooledKubeConfig();
  admin.loadFromFile(state.adminKubeconfig);
  const core = admin.makeApiClient(CoreV1Api);
  const objects = KubernetesObjectApi.makeApiClient(admin);
  // Everything but the Deployment (no kubelet runs it) and the webhook configuration (registered by
  // URL, pointing at the bench's own process, where a scenario wants it).
  const skip = new Set(["Deployment", "MutatingWebhookConfiguration"]);
  for (const object of build("webhook-config").filter((o) => !skip.has(o.kind))) {
    await objects.create(object as KubernetesObject);
  }
  const token = await core.createNamespacedServiceAccountToken({
    namespace: "ecr-webhook",
    name: "ecr-webhook",
    body: { spec: { expirationSeconds: 3 * 3600, audiences: [] } },
  });
  const kubectl = join(found.binaries.dir, "kubectl");
  const version = await rawGet(state, "/version").then(
    (body) => (JSON.parse(body) as { gitVersion: string }).gitVersion,
  );
  return {
    cluster: {
      state,
      admin,
      core,
      webhookKubeconfig: kubeconfigFile(state, issuedToken(token), work.file("webhook-sa.kubeconfig")),
      kubectl: existsSync(kubectl) ? kubectl : undefined,
      version,
      async close() {
        admin.closeConnections();
        await stopControlPlane(state.dir);
      },
    },
  };
}

function rawGet(state: ControlPlaneState, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${state.server}${path}`,
      { ca: state.caCert, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, agent: new Agent() },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString("utf8")));
        res.on("end", () => resolve(body));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** A bare keep-alive HTTPS client to the API server: the floor the webhook is compared with. */
export function apiClient(state: ControlPlaneState, token: string, maxSockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets, ca: state.caCert });
  return {
    agent,
    send(
      method: string,
      path: string,
      body?: unknown,
    ): Promise<{ status: number; body: string; ms: number }> {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const started = performance.now();
      return new Promise((resolve) => {
        const req = request(
          `${state.server}${path}`,
          {
            method,
            agent,
            headers: {
              authorization: `Bearer ${token}`,
              accept: "application/json",
              ...(text
                ? { "content-type": "application/json", "content-length": Buffer.byteLength(text) }
                : {}),
            },
          },
          (res) => {
            let data = "";
            res.on("data", (c: Buffer) => (data += c.toString("utf8")));
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, body: data, ms: performance.now() - started }),
            );
          },
        );
        req.on("error", () => resolve({ status: 0, body: "", ms: performance.now() - started }));
        req.end(text);
      });
    },
    close: () => agent.destroy(),
  };
}

/**
 * A real control plane and the AWS stand-in for the length of `measure`, both closed after it;
 * `{ skipped }` when this machine has no binaries.
 */
export async function withRealCluster<T>(
  work: WorkDir,
  measure: (cluster: RealCluster, aws: AwsStandIn) => Promise<T>,
): Promise<T | { skipped: string }> {
  const found = await startRealCluster(work);
  if ("skipped" in found) return found;
  const aws = await startAwsStandIn();
  try {
    return await measure(found.cluster, aws);
  } finally {
    await aws.close();
    await found.cluster.close();
  }
}

/** One webhook's `apiserver_admission_webhook_admission_duration_seconds`: cumulative buckets. */
export interface AdmissionHistogram {
  /** Upper bounds (seconds) with the cumulative count at each, ascending; +Inf last. */
  readonly buckets: readonly { le: number; count: number }[];
  readonly count: number;
  readonly sum: number;
}

const HISTOGRAM = "apiserver_admission_webhook_admission_duration_seconds";

/**
 * The API server's own histogram of the calls to webhook `name` (CREATE, admitted), scraped from
 * its /metrics with the admin credentials: every bucket, the count and the sum.
 */
export async function admissionHistogram(
  state: ControlPlaneState,
  name: string,
): Promise<AdmissionHistogram> {
  const text = await rawGet(state, "/metrics");
  const buckets = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(HISTOGRAM) || !line.includes(`name="${name}"`)) continue;
    if (!line.includes('operation="CREATE"') || !line.includes('rejected="false"')) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith(`${HISTOGRAM}_bucket`)) {
      const le = /le="([^"]+)"/.exec(line)![1]!;
      const bound = le === "+Inf" ? Infinity : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + value);
    } else if (line.startsWith(`${HISTOGRAM}_count`)) count += value;
    else if (line.startsWith(`${HISTOGRAM}_sum`)) sum += value;
  }
  return {
    buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c })),
    count,
    sum,
  };
}

/** What was observed between two scrapes of the same histogram. */
export function histogramDelta(before: AdmissionHistogram, after: AdmissionHistogram): AdmissionHistogram {
  const at = (h: AdmissionHistogram, le: number) => h.buckets.find((b) => b.le === le)?.count ?? 0;
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - at(before, b.le) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/**
 * The q-quantile (0–1) of a histogram as Prometheus' histogram_quantile estimates it: linear
 * interpolation inside the bucket the rank falls in (the highest finite bound when it is +Inf).
 */
export function histogramQuantile(h: AdmissionHistogram, q: number): number {
  if (h.count === 0) return NaN;
  const rank = q * h.count;
  let lower = 0;
  let below = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lower;
      return lower + ((b.le - lower) * (rank - below)) / Math.max(1, b.count - below);
    }
    lower = b.le;
    below = b.count;
  }
  return lower;
}
