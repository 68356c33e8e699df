import type { KubeConfig } from "@kubernetes/client-node";
import type { Config } from "../../src/config/config.js";
import { runRotationCycle, type RotationDeps } from "../../src/controller/rotation.js";
import { enabledNamespaceLister } from "../../src/kube/namespaces.js";
import { kubeSecretStore } from "../../src/kube/secret-store.js";
import { createLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { createCredentials } from "../../src/secrets/credentials.js";
import { startAwsStandIn, type AwsStandIn } from "./aws/index.js";
import { useAwsEndpoints } from "./aws-env.js";
import { testConfig } from "./fixtures.js";
import { ENABLED, LogCapture } from "./harness.js";
import { managedSecret } from "./managed-secret.js";
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

/**
 * Rotation's dependencies wired as `serve` wires them (createCredentials, the label-selected
 * namespace list), with short retry timings and a debug-level log capture.
 */
export function rotationDepsFor(
  kc: KubeConfig,
  config: Config,
  now: () => number,
): { deps: RotationDeps; logs: LogCapture } {
  const logs = new LogCapture();
  const logger = createLogger("debug", logs);
  const metrics = createMetrics();
  const { tokens, ensurer, events } = createCredentials(config, kc, {
    logger,
    metrics,
    now,
    tuning: { backoff: { baseMs: 2, capMs: 10, attempts: 3 }, minCallIntervalMs: 0, callTimeoutMs: 2_000 },
  });
  const deps: RotationDeps = {
    listEnabledNamespaces: enabledNamespaceLister(kc, config),
    listPullSecrets: () => kubeSecretStore(kc).listNamed(config.secretName),
    ensurer,
    tokens,
    events,
    defaultHosts: [],
    concurrency: config.rotationConcurrency,
    logger,
    metrics,
    now,
  };
  return { deps, logs };
}

/** The real token source, ensurer and Secret store, wired as `serve` wires them, over the stand-ins. */
export async function startRotationRig(
  options: { argv?: string[]; clockStart?: number; tokenTtlMs?: number } = {},
): Promise<RotationRig> {
  const clock = new TestClock(options.clockStart);
  const kube = await startKubeApi({ historyLimit: 50_000 });
  const aws = await startAwsStandIn({ now: clock.now, tokenTtlMs: options.tokenTtlMs });
  const restore = useAwsEndpoints(aws);
  const config = testConfig(options.argv ?? []);
  const kc = kube.kubeConfig();
  const { deps, logs } = rotationDepsFor(kc, config, clock.now);
  return {
    kube,
    aws,
    clock,
    logs,
    deps,
    cycle: () => runRotationCycle(deps),
    seedSecret(namespace, hosts, hoursLeft) {
      if (!kube.get("namespaces", undefined, namespace)) kube.addNamespace(namespace, { labels: ENABLED });
      kube.put(
        "secrets",
        namespace,
        managedSecret(namespace, hosts, new Date(clock.now() + hoursLeft * HOUR), config.secretName),
      );
    },
    async close() {
      await kube.close();
      await aws.close();
      restore();
    },
  };
}
