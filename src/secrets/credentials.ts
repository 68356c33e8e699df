import type { KubeConfig } from "@kubernetes/client-node";
import type { EventRecorder } from "../admission/ensurer.js";
import type { Config } from "../config/config.js";
import { createTokenSource, type TokenSource } from "../ecr/token-source.js";
import { kubeEventRecorder } from "../kube/events.js";
import { kubeSecretStore } from "../kube/secret-store.js";
import type { Logger } from "../log/logger.js";
import type { Metrics } from "../metrics/metrics.js";
import { createSecretEnsurer, type SecretEnsurer } from "./ensurer.js";

export interface Credentials {
  readonly tokens: TokenSource;
  readonly ensurer: SecretEnsurer;
  readonly events: EventRecorder;
}

/** The real collaborators behind admission and rotation: ECR through the SDK, Secrets through the API. */
export function createCredentials(
  config: Config,
  kubeConfig: KubeConfig,
  context: { logger: Logger; metrics: Metrics; now?: () => number },
): Credentials {
  const { logger, metrics, now } = context;
  const tokens = createTokenSource({
    minTokenTtlMs: config.minTokenTtlMs,
    callTimeoutMs: config.awsCallTimeoutMs,
    accountRoles: config.accountRoles,
    logger,
    metrics,
    now,
  });
  const events = kubeEventRecorder(kubeConfig, logger, now);
  const ensurer = createSecretEnsurer({
    store: kubeSecretStore(kubeConfig),
    tokens,
    secretName: config.secretName,
    minTokenTtlMs: config.minTokenTtlMs,
    logger,
    metrics,
    events,
    now,
  });
  return { tokens, ensurer, events };
}
