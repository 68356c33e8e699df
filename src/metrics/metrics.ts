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
  // Each on this registry alone; the two histograms, with their buckets, are spelled out below.
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter({ name, help, labelNames, registers });
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
  return {
    registry,
    reviews: counter(
      "ecr_webhook_admission_reviews_total",
      "Admission reviews answered, by object kind (Pod, ServiceAccount, other, unknown) and outcome (patched, unchanged, failed_open, rejected).",
      ["kind", "outcome"],
    ),
    reviewDuration: new Histogram({
      name: "ecr_webhook_admission_review_duration_seconds",
      help: "Time from receiving an AdmissionReview to answering it.",
      labelNames: ["kind"] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers,
    }),
    patches: counter(
      "ecr_webhook_patches_total",
      "JSON patches issued that add the pull Secret reference, by object kind.",
      ["kind"],
    ),
    inFlight: gauge("ecr_webhook_admission_in_flight", "Admission reviews being handled right now."),
    tokenFetches: counter(
      "ecr_webhook_token_fetches_total",
      "ECR GetAuthorizationToken calls, by result (success, throttled, error).",
      ["result"],
    ),
    secretWrites: counter(
      "ecr_webhook_secret_writes_total",
      "Writes of managed pull Secrets, by operation (create, update) and result (success, or the failure: HTTP code, network).",
      ["operation", "result"],
    ),
    ensureDuration: new Histogram({
      name: "ecr_webhook_ensure_duration_seconds",
      help: "Time to make sure a namespace's Secret holds fresh entries (cache hits included).",
      buckets: [0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    }),
    admissionFallbacks: counter(
      "ecr_webhook_admission_fallbacks_total",
      "Pods admitted before their Secret was confirmed, by reason (timeout, error, unmanaged_secret, namespace_terminating).",
      ["reason"],
    ),
    rotationRefreshes: counter(
      "ecr_webhook_rotation_refreshes_total",
      "Namespace Secrets examined by rotation, by result (refreshed, fresh, absent, failed).",
      ["result"],
    ),
    oldestTokenAge: gauge(
      "ecr_webhook_oldest_token_age_seconds",
      "Age of the oldest token in any managed Secret, as of the last rotation cycle.",
    ),
    lastRotationSuccess: gauge(
      "ecr_webhook_last_rotation_success_timestamp_seconds",
      "Unix time of the last rotation cycle that completed without failures.",
    ),
    leaseWriteFailures: counter(
      "ecr_webhook_lease_write_failures_total",
      "Leader Lease reads and writes the API server refused or never answered, by HTTP code (network: no answer).",
      ["code"],
    ),
    eventWriteFailures: counter(
      "ecr_webhook_event_write_failures_total",
      "Events the API server refused or never answered, by HTTP code (network: no answer).",
      ["code"],
    ),
    isLeader: gauge("ecr_webhook_leader", "1 while this replica holds the leader Lease and runs rotation."),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
