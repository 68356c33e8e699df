import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import { defaultRegistry } from "../policy/default-registry.js";
import type { Config } from "../config/config.js";
import type { NamespaceCache } from "../kube/namespace-cache.js";
import { enabledNamespaceLister } from "../kube/namespaces.js";
import { kubeServiceAccountStore } from "../kube/service-accounts.js";
import type { Logger } from "../log/logger.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Credentials } from "../secrets/credentials.js";
import { startLeaderElection, type LeaderElection } from "./leader-election.js";
import { createNamespaceReconciler } from "./namespace-reconciler.js";
import { startRotationLoop, type RotationDeps, type RotationLoop } from "./rotation.js";

export const LEASE_NAME = "ecr-webhook-leader";

/** client-go's defaults; tests shorten them. */
export interface LeaseTiming {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}
export const DEFAULT_LEASE_TIMING: LeaseTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

export interface ControllerDeps {
  readonly config: Config;
  readonly kubeConfig: KubeConfig;
  readonly cache: NamespaceCache;
  readonly credentials: Credentials;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly leaseTiming?: LeaseTiming;
  readonly identity?: string;
  readonly now?: () => number;
}

export function rotationDeps(deps: Omit<ControllerDeps, "cache">): RotationDeps {
  const registry = defaultRegistry(deps.config);
  return {
    listEnabledNamespaces: enabledNamespaceLister(deps.kubeConfig, deps.config),
    listPullSecrets: () => deps.credentials.store.listNamed(deps.config.secretName),
    ensurer: deps.credentials.ensurer,
    tokens: deps.credentials.tokens,
    events: deps.credentials.events,
    defaultHosts: registry ? [registry.host] : [],
    concurrency: deps.config.rotationConcurrency,
    logger: deps.logger,
    metrics: deps.metrics,
    now: deps.now,
  };
}

export interface Controller {
  isLeader(): boolean;
  /** release=false leaves the Lease to expire, as a crashed process would (tests). */
  stop(options?: { release?: boolean }): Promise<void>;
}

/**
 * Every replica serves admission; exactly one (the Lease holder) runs rotation and the namespace
 * reconciler. With --leader-elect=false this process simply runs them.
 */
export function startController(deps: ControllerDeps): Controller {
  const { config, logger } = deps;
  const rotation = rotationDeps(deps);
  const reconciler = createNamespaceReconciler({
    cache: deps.cache,
    policy: config,
    serviceAccounts: kubeServiceAccountStore(deps.kubeConfig),
    secrets: deps.credentials.store,
    ensurer: deps.credentials.ensurer,
    defaultHosts: rotation.defaultHosts,
    keepOnDisable: config.keepOnDisable,
    concurrency: config.rotationConcurrency,
    logger,
    events: deps.credentials.events,
  });
  let loop: RotationLoop | undefined;
  const startLeading = () => {
    loop = startRotationLoop({ ...rotation, intervalMs: config.rotationIntervalMs });
    reconciler
      .start()
      .catch((error: unknown) => logger.error({ err: String(error) }, "namespace resync failed"));
  };
  const stopLeading = async () => {
    await Promise.all([loop?.stop(), reconciler.stop()]);
    loop = undefined;
  };
  if (!config.leaderElect) {
    // This process leads for good: say so, or "nobody leads" alerts fire and token-age alerts,
    // which read the leader's figure, see nothing.
    deps.metrics.isLeader.set(1);
    startLeading();
    return {
      isLeader: () => true,
      stop: async () => {
        deps.metrics.isLeader.set(0);
        await stopLeading();
      },
    };
  }
  const election: LeaderElection = startLeaderElection({
    kubeConfig: deps.kubeConfig,
    namespace: config.leaseNamespace,
    name: LEASE_NAME,
    identity: deps.identity ?? `${hostname()}_${randomUUID().slice(0, 8)}`,
    ...(deps.leaseTiming ?? DEFAULT_LEASE_TIMING),
    logger,
    metrics: deps.metrics,
    now: deps.now,
    onStartedLeading: startLeading,
    onStoppedLeading: stopLeading,
  });
  return {
    isLeader: () => election.isLeader(),
    stop: (options) => election.stop({ release: options?.release ?? true }),
  };
}
