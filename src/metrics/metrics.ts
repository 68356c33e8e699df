import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The `kind` label of the review metrics. Label values come from a fixed set, never from a request:
 * anyone who can reach /mutate could otherwise grow the series without bound.
 */
export type KindLabel = "Pod" | "ServiceAccount" | "other";
export const kindLabel = (kind: string): KindLabel =>
  kind === "Pod" || kind === "ServiceAccount" ? kind : "other";

/**
 * Every metric the webhook exports, on a registry of its own (so tests can run many servers in one
 * process). Names follow Prometheus conventions; label values are small closed sets.
 */
export function createMetrics(options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    reviews: new Counter({
      name: "ecr_webhook_admission_reviews_total",
      help: "Admission reviews answered, by object kind (Pod, ServiceAccount, other, unknown) and outcome (patched, unchanged, failed_open, rejected).",
      labelNames: ["kind", "outcome"] as const,
      registers,
    }),
    reviewDuration: new Histogram({
      name: "ecr_webhook_admission_review_duration_seconds",
      help: "Time from receiving an AdmissionReview to answering it.",
      labelNames: ["kind"] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers,
    }),
    patches: new Counter({
      name: "ecr_webhook_patches_total",
      help: "JSON patches issued that add the pull Secret reference, by object kind.",
      labelNames: ["kind"] as const,
      registers,
    }),
    inFlight: new Gauge({
      name: "ecr_webhook_admission_in_flight",
      help: "Admission reviews being handled right now.",
      registers,
    }),
    tokenFetches: new Counter({
      name: "ecr_webhook_token_fetches_total",
      help: "ECR GetAuthorizationToken calls, by result (success, throttled, error).",
      labelNames: ["result"] as const,
      registers,
    }),
    secretWrites: new Counter({
      name: "ecr_webhook_secret_writes_total",
      help: "Writes of managed pull Secrets, by operation (create, update) and result (success, or the failure: HTTP code, network).",
      labelNames: ["operation", "result"] as const,
      registers,
    }),
    ensureDuration: new Histogram({
      name: "ecr_webhook_ensure_duration_seconds",
      help: "Time to make sure a namespace's Secret holds fresh entries (cache hits included).",
      buckets: [0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    }),
    admissionFallbacks: new Counter({
      name: "ecr_webhook_admission_fallbacks_total",
      help: "Pods admitted before their Secret was confirmed, by reason (timeout, error, unmanaged_secret, namespace_terminating).",
      labelNames: ["reason"] as const,
      registers,
    }),
    rotationRefreshes: new Counter({
      name: "ecr_webhook_rotation_refreshes_total",
      help: "Namespace Secrets examined by rotation, by result (refreshed, fresh, absent, failed).",
      labelNames: ["result"] as const,
      registers,
    }),
    oldestTokenAge: new Gauge({
      name: "ecr_webhook_oldest_token_age_seconds",
      help: "Age of the oldest token in any managed Secret, as of the last rotation cycle.",
      registers,
    }),
    lastRotationSuccess: new Gauge({
      name: "ecr_webhook_last_rotation_success_timestamp_seconds",
      help: "Unix time of the last rotation cycle that completed without failures.",
      registers,
    }),
    leaseWriteFailures: new Counter({
      name: "ecr_webhook_lease_write_failures_total",
      help: "Leader Lease reads and writes the API server refused or never answered, by HTTP code (network: no answer).",
      labelNames: ["code"] as const,
      registers,
    }),
    eventWriteFailures: new Counter({
      name: "ecr_webhook_event_write_failures_total",
      help: "Events the API server refused or never answered, by HTTP code (network: no answer).",
      labelNames: ["code"] as const,
      registers,
    }),
    isLeader: new Gauge({
      name: "ecr_webhook_leader",
      help: "1 while this replica holds the leader Lease and runs rotation.",
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
