import type { KubeConfig } from "@kubernetes/client-node";
import type { CredentialEnsurer } from "../secrets/credential-ensurer.js";
import type { EventRecorder } from "../kube/events.js";
import { createReviewHandler } from "../admission/handler.js";
import type { NamespaceSource } from "../policy/namespace.js";
import type { Config } from "../config/config.js";
import { startController, type Controller, type LeaseTiming } from "../controller/controller.js";
import { createNamespaceCache, type NamespaceCache } from "../kube/namespace-cache.js";
import { watchPullSecrets, type PullSecretWatch } from "../kube/pull-secret-watch.js";
import type { Logger } from "../log/logger.js";
import { createMetrics, type Metrics } from "../metrics/metrics.js";
import { listenMetrics } from "../metrics/metrics-server.js";
import { createCredentials, type Credentials } from "../secrets/credentials.js";
import { createApp } from "../server/app.js";
import { listenHttps, type WebhookServer } from "../server/https-server.js";
import { servingPair } from "../tls/serving-pair.js";

export interface WebhookOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** The cluster; with it come the Namespace cache, real credentials and the controller. */
  readonly kubeConfig?: KubeConfig;
  /** Overrides the watch-backed cache (tests, benchmarks); no controller runs then. */
  readonly namespaces?: NamespaceSource;
  /** Overrides the real ensurer (tests); no controller runs then. */
  readonly ensurer?: CredentialEnsurer;
  readonly events?: EventRecorder;
  readonly metrics?: Metrics;
  /** Interface to bind; the default listens on every interface, as a Pod must. */
  readonly host?: string;
  readonly certPollIntervalMs?: number;
  /** Shorter lease timings for tests; a fixed identity to tell replicas apart; a test clock. */
  readonly leaseTiming?: LeaseTiming;
  readonly identity?: string;
  readonly now?: () => number;
  /** Run rotation and the namespace reconciler (behind leader election); default true. */
  readonly controller?: boolean;
}

export interface RunningWebhook {
  readonly port: number;
  readonly metricsPort: number;
  readonly caBundlePath?: string;
  readonly metrics: Metrics;
  /** Whether this replica currently runs rotation and the reconciler. */
  isLeader(): boolean;
  /**
   * Graceful: not ready at once and the Lease handed back; `drainMs` more of serving, every answer
   * with `Connection: close`; then stop accepting, answer what is in flight, stop background work.
   */
  close(options?: { releaseLease?: boolean; drainMs?: number }): Promise<void>;
}

interface Cluster {
  readonly cache: NamespaceCache;
  readonly secrets?: PullSecretWatch;
  readonly credentials?: Credentials;
}

function connect(options: WebhookOptions, metrics: Metrics): Cluster | undefined {
  const { config, logger, kubeConfig } = options;
  if (!kubeConfig || options.namespaces) return undefined;
  const cache = createNamespaceCache(kubeConfig, logger, { policy: config });
  if (options.ensurer) return { cache };
  const secrets = watchPullSecrets(kubeConfig, config.secretName, logger);
  const credentials = createCredentials(config, kubeConfig, {
    logger,
    metrics,
    now: options.now,
    view: secrets,
  });
  return { cache, secrets, credentials };
}

/** Starts everything `serve` runs; the CLI adds signal handling, tests call it directly. */
export async function startWebhook(options: WebhookOptions): Promise<RunningWebhook> {
  const { config, logger } = options;
  const metrics = options.metrics ?? createMetrics({ processMetrics: true });
  const cluster = connect(options, metrics);
  const namespaces = options.namespaces ?? cluster?.cache;
  if (!namespaces) throw new Error("startWebhook needs a kubeConfig or a namespace source");
  // The watcher may report a new pair before the server exists; it is picked up from this ref.
  const serverRef: { current?: WebhookServer } = {};
  const tls = await servingPair(config, logger, (pair) => serverRef.current?.setCertificate(pair));
  let closing = false;
  const handle = createReviewHandler({
    policy: config,
    namespaces,
    logger,
    metrics,
    ensurer: options.ensurer ?? cluster?.credentials?.ensurer,
    events: options.events ?? cluster?.credentials?.events,
    deadlineMs: config.admissionDeadlineMs,
  });
  const readiness = () => {
    const certificate = tls.watcher?.health(new Date()) ?? { ok: true, detail: "self-signed" };
    const namespaceCache = cluster ? (cluster.cache.synced() ? "synced" : "not synced") : "static";
    const ok = !closing && certificate.ok && namespaceCache !== "not synced";
    return { ok, checks: { certificate: certificate.detail, namespaceCache, shuttingDown: String(closing) } };
  };
  const app = createApp({
    handle,
    deadlineMs: config.admissionDeadlineMs,
    logger,
    metrics,
    readiness,
    draining: () => closing,
  });
  const server = await listenHttps(app, tls.pair, { port: config.port, host: options.host, logger });
  serverRef.current = server;
  tls.watcher?.start(options.certPollIntervalMs ?? 10_000);
  const metricsServer = await listenMetrics(metrics.registry, config.metricsPort, options.host);
  const controllerStarting = startBackground(options, cluster, metrics, () => closing);
  logger.info(
    { port: server.port, metricsPort: metricsServer.port, caBundle: tls.caBundlePath },
    "ecr-webhook serving",
  );
  let controller: Controller | undefined;
  void controllerStarting.then((started) => (controller = started));
  return {
    port: server.port,
    metricsPort: metricsServer.port,
    caBundlePath: tls.caBundlePath,
    metrics,
    isLeader: () => controller?.isLeader() ?? false,
    async close({ releaseLease = true, drainMs = 0 } = {}) {
      closing = true;
      // The Lease is handed back at once, so that a new leader's first cycle does not wait out the drain.
      const leadership = controllerStarting.then((c) => c?.stop({ release: releaseLease }));
      // Endpoints stop sending here a moment after /readyz fails; until then every review is answered.
      if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, drainMs));
      tls.watcher?.stop();
      await Promise.all([server.close(), leadership]);
      await metricsServer.close();
      cluster?.credentials?.ensurer.close();
      await Promise.all([cluster?.cache.stop(), cluster?.secrets?.stop()]);
    },
  };
}

/**
 * The cache syncs in the background (/readyz stays 503 until it has; misses fall back to a GET).
 * The controller starts once the first list is in, because its reconciler reads the cache.
 */
async function startBackground(
  options: WebhookOptions,
  cluster: Cluster | undefined,
  metrics: Metrics,
  closing: () => boolean,
): Promise<Controller | undefined> {
  if (!cluster) return undefined;
  try {
    // The Secret watch only saves calls: admission works (reading each Secret) until it syncs.
    await Promise.all([cluster.cache.start(), cluster.secrets?.start()]);
  } catch (error) {
    options.logger.error({ err: String(error) }, "namespace or pull Secret watch failed to start");
  }
  if (!cluster.credentials || !options.kubeConfig || options.controller === false || closing())
    return undefined;
  return startController({
    config: options.config,
    kubeConfig: options.kubeConfig,
    cache: cluster.cache,
    credentials: cluster.credentials,
    logger: options.logger,
    metrics,
    leaseTiming: options.leaseTiming,
    identity: options.identity,
    now: options.now,
  });
}
