import { runRotationCycle, type RotationDeps } from "../../src/controller/rotation.js";
import { createTokenSource } from "../../src/ecr/token-source.js";
import { kubeEventRecorder } from "../../src/kube/events.js";
import { enabledNamespaceLister } from "../../src/kube/namespaces.js";
import { kubeSecretStore } from "../../src/kube/secret-store.js";
import { createLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { createSecretEnsurer } from "../../src/secrets/ensurer.js";
import { startAwsStandIn, type AwsStandIn } from "./aws/index.js";
import { useAwsEndpoints } from "./aws-env.js";
import { testConfig } from "./fixtures.js";
import { ENABLED, LogCapture } from "./harness.js";
import { startKubeApi, type KubeApiStandIn } from "./kube-api/index.js";

export const HOUR = 3_600_000;

/** A clock the test moves by hand; the AWS stand-in issues tokens by it too. */
export class TestClock {
  constructor(public ms = Date.parse("2026-11-23T08:00:00Z")) {}
  readonly now = () => this.ms;
  advance(ms: number) {
    this.ms += ms;
  }
}

export interface RotationRig {
  kube: KubeApiStandIn;
  aws: AwsStandIn;
  clock: TestClock;
  logs: LogCapture;
  deps: RotationDeps;
  cycle(): ReturnType<typeof runRotationCycle>;
  /** A managed Secret with one entry per host, expiring `hoursLeft` from now on the test clock. */
  seedSecret(namespace: string, hosts: Record<string, string>, hoursLeft: number): void;
  close(): Promise<void>;
}

/** The real token source, ensurer and Secret store, wired as `serve` wires them, over the stand-ins. */
export async function startRotationRig(
  options: { argv?: string[]; clockStart?: number } = {},
): Promise<RotationRig> {
  const clock = new TestClock(options.clockStart);
  const kube = await startKubeApi({ historyLimit: 50_000 });
  const aws = await startAwsStandIn({ now: clock.now });
  const restore = useAwsEndpoints(aws);
  const config = testConfig(options.argv ?? []);
  const kc = kube.kubeConfig();
  const logs = new LogCapture();
  const logger = createLogger("debug", logs);
  const metrics = createMetrics();
  const fast = { baseMs: 2, capMs: 10, attempts: 3 };
  const tokens = createTokenSource({
    minTokenTtlMs: config.minTokenTtlMs,
    callTimeoutMs: 2_000,
    accountRoles: config.accountRoles,
    logger,
    metrics,
    now: clock.now,
    backoff: fast,
    minCallIntervalMs: 0,
  });
  const events = kubeEventRecorder(kc, logger, clock.now);
  const ensurer = createSecretEnsurer({
    store: kubeSecretStore(kc),
    tokens,
    secretName: config.secretName,
    minTokenTtlMs: config.minTokenTtlMs,
    logger,
    metrics,
    events,
    now: clock.now,
    backoff: fast,
  });
  const deps: RotationDeps = {
    listEnabledNamespaces: enabledNamespaceLister(kc, config),
    ensurer,
    tokens,
    events,
    defaultHosts: [],
    concurrency: config.rotationConcurrency,
    logger,
    metrics,
    now: clock.now,
  };
  return {
    kube,
    aws,
    clock,
    logs,
    deps,
    cycle: () => runRotationCycle(deps),
    seedSecret(namespace, hosts, hoursLeft) {
      if (!kube.get("namespaces", undefined, namespace)) kube.addNamespace(namespace, { labels: ENABLED });
      const expiresAt = new Date(clock.now() + hoursLeft * HOUR).toISOString();
      const auths = Object.fromEntries(
        Object.entries(hosts).map(([host, password]) => [
          host,
          { username: "AWS", password, auth: Buffer.from(`AWS:${password}`).toString("base64") },
        ]),
      );
      kube.put("secrets", namespace, {
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/dockerconfigjson",
        metadata: {
          name: config.secretName,
          namespace,
          labels: { "app.kubernetes.io/managed-by": "ecr-webhook" },
          annotations: {
            "ecr-webhook.io/expiries": JSON.stringify(
              Object.fromEntries(Object.keys(hosts).map((h) => [h, expiresAt])),
            ),
          },
        },
        data: { ".dockerconfigjson": Buffer.from(JSON.stringify({ auths })).toString("base64") },
      });
    },
    async close() {
      await kube.close();
      await aws.close();
      restore();
    },
  };
}
