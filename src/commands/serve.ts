import type { KubeConfig } from "@kubernetes/client-node";
import type { CredentialEnsurer, EventRecorder } from "../admission/ensurer.js";
import { createReviewHandler } from "../admission/handler.js";
import type { NamespaceSource } from "../admission/namespace-meta.js";
import type { Config } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import { createMetrics, type Metrics } from "../metrics/metrics.js";
import { listenMetrics } from "../metrics/metrics-server.js";
import { createNamespaceCache, type NamespaceCache } from "../kube/namespace-cache.js";
import { createApp } from "../server/app.js";
import { listenHttps, type WebhookServer } from "../server/https-server.js";
import { servingPair } from "../tls/serving-pair.js";
import { createCredentials } from "./credentials.js";

export interface WebhookOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** The cluster; with it come the Namespace cache and, unless `ensurer` is given, real credentials. */
  readonly kubeConfig?: KubeConfig;
  /** Overrides the watch-backed cache (tests, benchmarks). */
  readonly namespaces?: NamespaceSource;
  readonly ensurer?: CredentialEnsurer;
  readonly events?: EventRecorder;
  readonly metrics?: Metrics;
  /** Interface to bind; the default listens on every interface, as a Pod must. */
  readonly host?: string;
  readonly certPollIntervalMs?: number;
}

export interface RunningWebhook {
  readonly port: number;
  readonly metricsPort: number;
  readonly caBundlePath?: string;
  readonly metrics: Metrics;
  /** Graceful: stop accepting, answer what is in flight, stop background work. */
  close(): Promise<void>;
}

/** Starts everything `serve` runs; the CLI adds signal handling, tests call it directly. */
export async function startWebhook(options: WebhookOptions): Promise<RunningWebhook> {
  const { config, logger } = options;
  const metrics = options.metrics ?? createMetrics({ processMetrics: true });
  const credentials =
    options.kubeConfig && !options.ensurer
      ? createCredentials(config, options.kubeConfig, logger, metrics)
      : undefined;
  let cache: NamespaceCache | undefined;
  let namespaces = options.namespaces;
  if (!namespaces) {
    if (!options.kubeConfig) throw new Error("startWebhook needs a kubeConfig or a namespace source");
    cache = createNamespaceCache(options.kubeConfig, logger);
    namespaces = cache;
  }
  // The watcher may report a new pair before the server exists; it is picked up from this ref.
  const serverRef: { current?: WebhookServer } = {};
  const tls = await servingPair(config, logger, (pair) => serverRef.current?.setCertificate(pair));
  let closing = false;
  const handle = createReviewHandler({
    policy: config,
    namespaces,
    logger,
    metrics,
    ensurer: options.ensurer ?? credentials?.ensurer,
    events: options.events ?? credentials?.events,
    deadlineMs: config.admissionDeadlineMs,
  });
  const readiness = () => {
    const certificate = tls.watcher?.health() ?? { ok: true, detail: "self-signed" };
    const namespaceCache = cache ? (cache.synced() ? "synced" : "not synced") : "static";
    const ok = !closing && certificate.ok && namespaceCache !== "not synced";
    return { ok, checks: { certificate: certificate.detail, namespaceCache, shuttingDown: String(closing) } };
  };
  const app = createApp({ handle, deadlineMs: config.admissionDeadlineMs, logger, metrics, readiness });
  const server = await listenHttps(app, tls.pair, { port: config.port, host: options.host, logger });
  serverRef.current = server;
  tls.watcher?.start(options.certPollIntervalMs ?? 10_000);
  const metricsServer = await listenMetrics(metrics.registry, config.metricsPort, options.host);
  // The cache syncs in the background; /readyz stays 503 until it has, and misses fall back to a GET.
  cache
    ?.start()
    .catch((error: unknown) => logger.error({ err: String(error) }, "namespace cache failed to start"));
  logger.info(
    { port: server.port, metricsPort: metricsServer.port, caBundle: tls.caBundlePath },
    "ecr-webhook serving",
  );
  return {
    port: server.port,
    metricsPort: metricsServer.port,
    caBundlePath: tls.caBundlePath,
    metrics,
    async close() {
      closing = true;
      tls.watcher?.stop();
      await server.close();
      await metricsServer.close();
      await cache?.stop();
    },
  };
}
