import { CoreV1Api, makeInformer, type KubeConfig, type V1Namespace } from "@kubernetes/client-node";
import { LIST_TIMEOUT_MS, withTimeout } from "./request-options.js";
import type { NamespaceMeta, NamespaceSource } from "../admission/namespace-meta.js";
import type { Logger } from "../log/logger.js";
import { apiFailure, isNotFound } from "./api-errors.js";

export function toNamespaceMeta(ns: V1Namespace): NamespaceMeta {
  return {
    name: ns.metadata?.name ?? "",
    labels: { ...(ns.metadata?.labels ?? {}) },
    annotations: { ...(ns.metadata?.annotations ?? {}) },
    terminating: ns.status?.phase === "Terminating" || ns.metadata?.deletionTimestamp !== undefined,
  };
}

/**
 * The informer replaces a Namespace's object on every change, so its meta can be kept with the
 * object: a warm review reads it without building a copy of the labels and annotations.
 */
const metas = new WeakMap<V1Namespace, NamespaceMeta>();
function metaOf(ns: V1Namespace): NamespaceMeta {
  let meta = metas.get(ns);
  if (!meta) metas.set(ns, (meta = toNamespaceMeta(ns)));
  return meta;
}

export interface NamespaceCache extends NamespaceSource {
  readonly synced: () => boolean;
  /** Every cached namespace (for the reconciler). */
  readonly list: () => NamespaceMeta[];
  /** Called with each namespace as it is added or changed, and with deletions. */
  onChange(listener: (ns: NamespaceMeta, deleted: boolean) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A watch-backed view of every Namespace's labels and annotations, so admission never does a GET per
 * review. The informer relists after a 410 Gone on its own; after any other watch failure it is
 * restarted here with backoff. A miss (a namespace newer than the last watch event) falls back to
 * one GET.
 */
export function createNamespaceCache(
  kc: KubeConfig,
  logger: Logger,
  options: { retryBaseMs?: number } = {},
): NamespaceCache {
  const api = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Namespace>(kc, "/api/v1/namespaces", () =>
    api.listNamespace({}, withTimeout(LIST_TIMEOUT_MS)),
  );
  const listeners: ((ns: NamespaceMeta, deleted: boolean) => void)[] = [];
  let synced = false;
  let stopped = false;
  let failures = 0; // consecutive, for backoff
  let errorCount = 0; // ever, to tell whether a start succeeded
  let restartTimer: NodeJS.Timeout | undefined;
  const retryBaseMs = options.retryBaseMs ?? 500;

  const notify = (obj: V1Namespace, deleted: boolean) => {
    failures = 0;
    const meta = toNamespaceMeta(obj);
    for (const listener of listeners) listener(meta, deleted);
  };
  informer.on("add", (obj) => notify(obj, false));
  informer.on("update", (obj) => notify(obj, false));
  informer.on("delete", (obj) => notify(obj, true));
  informer.on("error", (error: unknown) => {
    if (stopped) return;
    failures += 1;
    errorCount += 1;
    const delay = Math.min(30_000, retryBaseMs * 2 ** Math.min(failures - 1, 6));
    logger.warn({ err: apiFailure(error).message, retryInMs: delay }, "namespace watch failed; restarting");
    restartTimer = setTimeout(() => void run(), delay);
    restartTimer.unref();
  });

  // The informer reports a failed list through "error", not by rejecting: synced only if none came.
  const run = async () => {
    const before = errorCount;
    try {
      await informer.start();
    } catch (error) {
      logger.warn({ err: apiFailure(error).message }, "namespace watch start failed");
      return;
    }
    if (errorCount === before) synced = true;
  };

  return {
    synced: () => synced,
    list: () => informer.list().map(toNamespaceMeta),
    onChange: (listener) => void listeners.push(listener),
    get(name) {
      const cached = informer.get(name);
      if (cached) return metaOf(cached);
      return api.readNamespace({ name }, withTimeout()).then(toNamespaceMeta, (error: unknown) => {
        if (isNotFound(apiFailure(error))) return undefined;
        throw error;
      });
    },
    async start() {
      stopped = false;
      await run();
    },
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      await informer.stop();
    },
  };
}
