import { mkdtemp, writeFile } from "node:fs/promises";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { startWebhook, type RunningWebhook } from "../../src/commands/serve.js";
import { createLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { buildSecret } from "../../src/secrets/pull-secret.js";
import { startAwsStandIn, type AwsStandIn, type AwsStandInOptions } from "./aws/index.js";
import { STAND_IN_KEYS, useAwsEndpoints } from "./aws-env.js";
import { loadReview, testConfig } from "./fixtures.js";
import { ENABLED, LogCapture } from "./harness.js";
import { httpsRequest, type HttpsResponse } from "./https-client.js";
import { startKubeApi, type KubeApiOptions, type KubeApiStandIn, type KubeObject } from "./kube-api/index.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";
import { issueLocalBundle } from "./webhook.js";

export const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
export const WEST = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";
/** A registry no pod in these tests asks for: its entry must survive everything untouched. */
export const OTHER = "111122223333.dkr.ecr.us-west-2.amazonaws.com";
export const ROLE = "arn:aws:iam::210987654321:role/ecr-pull";
export const SECRET = "ecr-pull-secret";

export interface StackOptions {
  argv?: string[];
  /** Run rotation and the reconciler (default false, as in the harness). */
  controller?: boolean;
  now?: () => number;
  aws?: AwsStandInOptions;
  kube?: KubeApiOptions;
  /** Route the webhook's Kubernetes traffic through a restartable TCP proxy. */
  proxy?: boolean;
  logLevel?: string;
  /** Runs before the webhook starts (objects the first rotation cycle must already see, fault hooks). */
  seed?: (kube: KubeApiStandIn, proxy: TcpProxy | undefined) => void;
}

export interface ReviewResult {
  status: number;
  body: any;
  elapsedMs: number;
}

export interface Stack {
  kube: KubeApiStandIn;
  aws: AwsStandIn;
  webhook: RunningWebhook;
  logs: LogCapture;
  ca: string;
  proxy?: TcpProxy;
  /** A pod CREATE review (from the recorded fixture) for `namespace`; `timeout` is the API server's `?timeout=`. */
  review(
    namespace: string,
    options?: { mutate?: (review: any) => void; timeout?: string },
  ): Promise<ReviewResult>;
  get(path: string): Promise<HttpsResponse>;
  close(): Promise<void>;
}

/** A KubeConfig for the stand-in, optionally pointing at another address (the proxy) instead. */
export function kubeConfigFor(kube: KubeApiStandIn, server = kube.url): KubeConfig {
  const token = kube.kubeConfig().getCurrentUser()?.token;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "stand-in", server, skipTLSVerify: true }],
    users: [{ name: "stand-in", token }],
    contexts: [{ name: "stand-in", cluster: "stand-in", user: "stand-in" }],
    currentContext: "stand-in",
  });
  return kc;
}

let uid = 0;

/** A pod CREATE AdmissionReview from the recorded fixture, for `namespace`, with a fresh uid. */
export function podReview(namespace: string): any {
  const review = loadReview("pod-create-ecr.json");
  review.request.uid = `fault-${process.pid}-${++uid}`;
  review.request.namespace = namespace;
  review.request.object.metadata.namespace = namespace;
  return review;
}

/**
 * The whole webhook (real namespace cache, ensurer, token source, SDK and client-node) against both
 * stand-ins on loopback, like test/support/harness.ts, plus what fault tests need: a proxy to
 * restart, the API server's `?timeout=`, and the status and time of every answer.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const kube = await startKubeApi(options.kube);
  const aws = await startAwsStandIn({ now: options.now, ...options.aws });
  const restoreEnv = useAwsEndpoints(aws);
  const proxy = options.proxy ? await startTcpProxy(Number(new URL(kube.url).port)) : undefined;
  options.seed?.(kube, proxy);
  const logs = new LogCapture();
  const dir = await mkdtemp(join(tmpdir(), "ecr-webhook-faults-"));
  const bundle = await issueLocalBundle();
  await writeFile(join(dir, "tls.crt"), bundle.serving.cert);
  await writeFile(join(dir, "tls.key"), bundle.serving.key);
  const level = options.logLevel ?? "debug";
  const config = testConfig([
    "--port=0",
    "--metrics-port=0",
    `--tls-cert-file=${join(dir, "tls.crt")}`,
    `--tls-key-file=${join(dir, "tls.key")}`,
    `--log-level=${level}`,
    ...(options.argv ?? []),
  ]);
  const webhook = await startWebhook({
    config,
    logger: createLogger(level, logs),
    kubeConfig: kubeConfigFor(kube, proxy?.url),
    metrics: createMetrics(),
    host: "127.0.0.1",
    controller: options.controller ?? false,
    now: options.now,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const ca = bundle.ca.cert;
  return {
    kube,
    aws,
    webhook,
    logs,
    ca,
    proxy,
    async review(namespace, { mutate, timeout = "10s" } = {}) {
      const review = podReview(namespace);
      mutate?.(review);
      const started = Date.now();
      const res = await httpsRequest({
        port: webhook.port,
        ca,
        agent,
        path: `/mutate?timeout=${timeout}`,
        body: JSON.stringify(review),
      });
      return { status: res.status, body: res.json(), elapsedMs: Date.now() - started };
    },
    get: (path) => httpsRequest({ port: webhook.port, ca, agent, method: "GET", path }),
    async close() {
      agent.destroy();
      await webhook.close();
      await proxy?.close();
      await kube.close();
      await aws.close();
      restoreEnv();
    },
  };
}

/** The decoded `.dockerconfigjson` auths of the managed Secret, or undefined when there is none. */
export function authsOf(
  kube: KubeApiStandIn,
  namespace: string,
): Record<string, { username: string; password: string; auth: string }> | undefined {
  const secret: any = kube.get("secrets", namespace, SECRET);
  if (!secret) return undefined;
  return JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString("utf8")).auths;
}

/** host → ISO expiry, from the managed Secret's annotation. */
export function expiriesOf(kube: KubeApiStandIn, namespace: string): Record<string, string> {
  const secret: any = kube.get("secrets", namespace, SECRET);
  return JSON.parse(secret?.metadata?.annotations?.["ecr-webhook.io/expiries"] ?? "{}");
}

/** The patch an AdmissionReview answer carries, decoded. */
export function patchOf(body: any): any[] | undefined {
  const patch = body?.response?.patch;
  return patch ? JSON.parse(Buffer.from(patch, "base64").toString("utf8")) : undefined;
}

export const REFERENCE_PATCH = [{ op: "add", path: "/spec/imagePullSecrets", value: [{ name: SECRET }] }];

/** A managed pull Secret with these entries (each with its own expiry), in an enabled namespace. */
export function seedPullSecret(
  kube: KubeApiStandIn,
  namespace: string,
  entries: Record<string, { password: string; expiresAt: Date }>,
): void {
  if (!kube.get("namespaces", undefined, namespace)) kube.addNamespace(namespace, { labels: ENABLED });
  kube.put(
    "secrets",
    namespace,
    buildSecret(namespace, SECRET, new Map(Object.entries(entries))) as KubeObject,
  );
}

/**
 * What a webhook in a child process needs to reach the stand-ins: a kubeconfig file (written into
 * `dir`) and the SDK's endpoint and credential variables.
 */
export async function childEnvironment(
  kube: KubeApiStandIn,
  aws: AwsStandIn,
  dir: string,
): Promise<{ env: NodeJS.ProcessEnv; kubeconfig: string }> {
  const kubeconfig = join(dir, "kubeconfig.json");
  await writeFile(kubeconfig, kube.kubeConfig().exportConfig());
  return {
    kubeconfig,
    env: {
      KUBECONFIG: kubeconfig,
      ...aws.endpointEnv(),
      AWS_EC2_METADATA_DISABLED: "true",
      ...STAND_IN_KEYS,
      AWS_REGION: "us-east-1",
      AWS_PROFILE: undefined,
      AWS_SESSION_TOKEN: undefined,
    },
  };
}
