import type { KubeConfig } from "@kubernetes/client-node";
import type { EventRecorder } from "../kube/events.js";
import type { Config } from "../config/config.js";
import { createTokenSource, type TokenSource } from "../ecr/token-source.js";
import { kubeEventRecorder } from "../kube/events.js";
import { kubeSecretStore, type SecretStore } from "../kube/secret-store.js";
import type { Logger } from "../log/logger.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Backoff } from "../util/backoff.js";
import type { SecretMetadataView } from "../kube/pull-secret-watch.js";
import { createSecretEnsurer, type SecretEnsurer } from "./secret-ensurer.js";

export interface Credentials {
  readonly tokens: TokenSource;
  /** The one way this process reads and writes its pull Secrets. */
  readonly store: SecretStore;
  readonly ensurer: SecretEnsurer;
  readonly events: EventRecorder;
}

/** Retry timings, shortened by tests and benchmarks; production uses the defaults. */
export interface Tuning {
  readonly backoff?: Backoff;
  readonly minCallIntervalMs?: number;
  readonly callTimeoutMs?: number;
}

/** The real collaborators behind admission and rotation: ECR through the SDK, Secrets through the API. */
export function createCredentials(
  config: Config,
  kubeConfig: KubeConfig,
  context: {
    logger: Logger;
    metrics: Metrics;
    now?: () => number;
    tuning?: Tuning;
    /** The watch of every pull Secret (serve); one-shot commands go without. */
    view?: SecretMetadataView;
    /** Another client for Secrets (the benchmark compares them); by default plain JSON requests. */
    store?: SecretStore;
  },
): Credentials {
  const { logger, metrics, now, tuning, view } = context;
  const store = context.store ?? kubeSecretStore(kubeConfig);
  const tokens = createTokenSource({
    minTokenTtlMs: config.minTokenTtlMs,
    callTimeoutMs: tuning?.callTimeoutMs ?? config.awsCallTimeoutMs,
    accountRoles: config.accountRoles,
    logger,
    metrics,
    now,
    backoff: tuning?.backoff,
    minCallIntervalMs: tuning?.minCallIntervalMs,
  });
  const events = kubeEventRecorder(kubeConfig, { secretName: config.secretName, logger, metrics, now });
  const ensurer = createSecretEnsurer({
    store,
    tokens,
    policy: config,
    minTokenTtlMs: config.minTokenTtlMs,
    logger,
    metrics,
    events,
    view,
    now,
    backoff: tuning?.backoff,
  });
  return { tokens, store, ensurer, events };
}
