/**
 * What every end-to-end file starts from: the shipped manifests installed, the AWS stand-in, and
 * helpers to run the bundle with the webhook ServiceAccount's token. Files that need no webhook
 * process (or several) start their own.
 */
import {
  Observable,
  type ConfigurationOptions,
  type RequestContext,
  type ResponseContext,
  type V1Pod,
  type V1Secret,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { startAwsStandIn, type AwsStandIn, type AwsStandInOptions } from "../../support/aws/index.js";
import { freePort } from "../../support/free-port.js";
import { connect, ENABLED, uniqueName, type TestCluster } from "./cluster.js";
import { environment } from "./environment.js";
import { installWebhook, waitUntilCalled, WEBHOOK_NAMESPACE } from "./install.js";
import { startServe, type ServeProcess } from "../../support/webhook-process.js";
import { writeLocalBundle } from "../../support/webhook.js";

export const ACCOUNT = "123456789012";
export const REGISTRY = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;
export const SECRET = "ecr-pull-secret";

/** This file's serving certificate: its files, and the bundle it was issued from. */
export type Tls = Awaited<ReturnType<typeof writeLocalBundle>>;

/** `describe`, or a skipped one (with the reason the global setup printed) without a control plane. */
export const describeE2e = (name: string, body: () => void) =>
  environment().available ? describe(name, body) : describe.skip(name, body);

export interface Suite {
  readonly cluster: TestCluster;
  readonly aws: AwsStandIn;
  /** kubeconfig with a token of the webhook's own ServiceAccount. */
  readonly kubeconfig: string;
  readonly tls: Tls;
  /** The running webhook, when the file asked for one. */
  serve?: ServeProcess;
  /** Starts another serve process with the webhook's identity and this file's certificate. */
  startServe(
    args: readonly string[],
    options?: { env?: NodeJS.ProcessEnv; port?: number },
  ): Promise<ServeProcess>;
  /** An enabled namespace in which the API server is known to call the webhook. */
  readonly probeNamespace: string;
  /** A new namespace, deleted when the file ends (so later files' rotation never sees it). */
  namespace(
    prefix: string,
    meta?: { labels?: Record<string, string>; annotations?: Record<string, string> },
  ): Promise<string>;
}

/**
 * Installs the manifests pointed at a webhook process on this file's port, and (unless `serveArgs`
 * is null) starts that process and waits until the API server calls it.
 */
export function useSuite(options: { serveArgs: readonly string[] | null; aws?: AwsStandInOptions }): Suite {
  const suite = {} as Suite & {
    cluster: TestCluster;
    aws: AwsStandIn;
    kubeconfig: string;
    tls: Tls;
    probeNamespace: string;
  };
  const started: ServeProcess[] = [];
  const namespaces: string[] = [];
  suite.namespace = async (prefix, meta) => {
    const name = uniqueName(prefix);
    namespaces.push(name);
    await suite.cluster.createNamespace(name, meta);
    return name;
  };
  beforeAll(async () => {
    suite.cluster = connect();
    suite.aws = await startAwsStandIn(options.aws);
    suite.tls = await writeLocalBundle(suite.cluster.runDir, `serving-${Date.now()}`);
    suite.startServe = async (args, more = {}) => {
      const serve = await startServe({
        kubeconfig: suite.kubeconfig,
        aws: suite.aws,
        tls: suite.tls,
        // Nothing balances over these processes (but in the rollout file, which sets its own): a
        // test's SIGTERM need not wait out endpoints.
        args: ["--log-level=debug", "--shutdown-delay=200ms", ...args],
        ...more,
      });
      started.push(serve);
      return serve;
    };
    // The port the webhook configuration names; other processes a file starts pick their own.
    const port = await freePort();
    await installWebhook(suite.cluster, `https://127.0.0.1:${port}`, suite.tls.bundle.ca.cert);
    suite.kubeconfig = await suite.cluster.serviceAccountKubeconfig(WEBHOOK_NAMESPACE, "ecr-webhook");
    suite.probeNamespace = await suite.namespace("probe", { labels: { ...ENABLED } });
    if (options.serveArgs) {
      suite.serve = await suite.startServe(options.serveArgs, { port });
      await suite.serve.waitReady();
      await waitUntilCalled(suite.cluster, suite.probeNamespace);
    }
  });
  afterAll(async () => {
    // SIGTERM: a leader hands its Lease back, so the next file's process leads at once.
    for (const serve of started) await serve.stop();
    for (const name of namespaces) await suite.cluster.core.deleteNamespace({ name }).catch(() => undefined);
    await suite.aws?.close();
    for (const serve of started) expect(leaks(serve.lines().join("\n"), suite.aws)).toEqual([]);
  });
  return suite;
}

/** Credentials the stand-in issued that appear in a process's output (there must be none). */
export function leaks(text: string, aws: AwsStandIn): string[] {
  return aws.tokens
    .flatMap((t) => [t.password, Buffer.from(`AWS:${t.password}`).toString("base64")])
    .filter((secret) => text.includes(secret));
}

/** Decoded `.dockerconfigjson` of a stored Secret. */
export function dockerConfigOf(secret: V1Secret): Record<string, { username: string; password: string }> {
  const raw = secret.data?.[".dockerconfigjson"] ?? "";
  return (JSON.parse(Buffer.from(raw, "base64").toString("utf8")) as { auths: Record<string, never> }).auths;
}

export const pullSecretNames = (pod: V1Pod) => (pod.spec?.imagePullSecrets ?? []).map((r) => r.name);

/** Per-call options that record the API server's `Warning` headers (admission warnings among them). */
export function capturingWarnings(into: string[]): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context: RequestContext) => new Observable(Promise.resolve(context)),
        post: (response: ResponseContext) => {
          const header = response.headers.warning;
          if (header) into.push(...header.split(/,\s*(?=\d{3} )/));
          return new Observable(Promise.resolve(response));
        },
      },
    ],
    middlewareMergeStrategy: "append",
  };
}

export function podBody(
  name: string,
  images: readonly string[],
  extra: { annotations?: Record<string, string>; imagePullSecrets?: string[]; initImages?: string[] } = {},
): V1Pod {
  return {
    metadata: {
      ...(name.endsWith("-") ? { generateName: name } : { name }),
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: {
      containers: images.map((image, i) => ({ name: `c${i}`, image })),
      ...(extra.initImages
        ? { initContainers: extra.initImages.map((image, i) => ({ name: `init${i}`, image })) }
        : {}),
      ...(extra.imagePullSecrets
        ? { imagePullSecrets: extra.imagePullSecrets.map((n) => ({ name: n })) }
        : {}),
    },
  };
}
