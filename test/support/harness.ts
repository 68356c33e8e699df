import { Agent } from "node:https";
import { Writable } from "node:stream";
import { startWebhook, type RunningWebhook } from "../../src/commands/serve.js";
import { createLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { startAwsStandIn, type AwsStandIn, type AwsStandInOptions } from "./aws/index.js";
import { useAwsEndpoints } from "./aws-env.js";
import { loadReview, testConfig } from "./fixtures.js";
import { httpsRequest } from "./https-client.js";
import { startKubeApi, type KubeApiStandIn } from "./kube-api/index.js";
import { issueLocalBundle } from "./webhook.js";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ENABLED = { "ecr-webhook.io/inject": "enabled" };

/** Every log line the webhook wrote, for assertions (including that no secret ever appears). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    done();
  }
  parsed(): any[] {
    return this.lines.map((l) => JSON.parse(l));
  }
}

export interface Harness {
  kube: KubeApiStandIn;
  aws: AwsStandIn;
  webhook: RunningWebhook;
  logs: LogCapture;
  ca: string;
  /** Sends a pod AdmissionReview for `namespace`, built from a recorded fixture. */
  reviewPod(namespace: string, mutate?: (review: any) => void): Promise<any>;
  close(): Promise<void>;
}

/** The whole webhook (real cache, real ensurer, real SDK) against both stand-ins, on loopback. */
export async function startHarness(
  options: { argv?: string[]; aws?: AwsStandInOptions; controller?: boolean; now?: () => number } = {},
): Promise<Harness> {
  const kube = await startKubeApi();
  const aws = await startAwsStandIn({ now: options.now, ...options.aws });
  const restoreEnv = useAwsEndpoints(aws);
  const logs = new LogCapture();
  const dir = await mkdtemp(join(tmpdir(), "ecr-webhook-it-"));
  const bundle = await issueLocalBundle();
  await writeFile(join(dir, "tls.crt"), bundle.serving.cert);
  await writeFile(join(dir, "tls.key"), bundle.serving.key);
  const config = testConfig([
    "--port=0",
    "--metrics-port=0",
    `--tls-cert-file=${join(dir, "tls.crt")}`,
    `--tls-key-file=${join(dir, "tls.key")}`,
    "--log-level=debug",
    ...(options.argv ?? []),
  ]);
  const webhook = await startWebhook({
    config,
    logger: createLogger("debug", logs),
    kubeConfig: kube.kubeConfig(),
    metrics: createMetrics(),
    host: "127.0.0.1",
    // Admission tests count API requests exactly: rotation runs only where a test asks for it.
    controller: options.controller ?? false,
    now: options.now,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  let uid = 0;
  return {
    kube,
    aws,
    webhook,
    logs,
    ca: bundle.ca.cert,
    async reviewPod(namespace, mutate) {
      const review = loadReview("pod-create-ecr.json");
      review.request.uid = `uid-${++uid}`;
      review.request.namespace = namespace;
      review.request.object.metadata.namespace = namespace;
      mutate?.(review);
      const res = await httpsRequest({
        port: webhook.port,
        ca: bundle.ca.cert,
        body: JSON.stringify(review),
        agent,
      });
      if (res.status !== 200) throw new Error(`review answered ${res.status}: ${res.text}`);
      return res.json();
    },
    async close() {
      agent.destroy();
      await webhook.close();
      await kube.close();
      await aws.close();
      restoreEnv();
    },
  };
}

/** The decoded `.dockerconfigjson` of a Secret in the stand-in. */
export function dockerConfigOf(secret: any): {
  auths: Record<string, { username: string; password: string; auth: string }>;
} {
  return JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString("utf8"));
}

/** Asserts no credential the AWS stand-in issued appears anywhere in the captured logs. */
export function leakedSecrets(logs: LogCapture, aws: AwsStandIn): string[] {
  const text = logs.lines.join("\n");
  const secrets = aws.tokens.flatMap((t) => [
    t.password,
    Buffer.from(`AWS:${t.password}`).toString("base64"),
  ]);
  return secrets
    .filter((s) => text.includes(s))
    .concat(text.includes('.dockerconfigjson":"ey') ? ["dockerconfigjson"] : []);
}
