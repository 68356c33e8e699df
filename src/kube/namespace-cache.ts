import { CoreV1Api, makeInformer, type KubeConfig, type V1Namespace } from "@kubernetes/client-node";
import type { AdmissionPolicy } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import { namespaceEnabled, type NamespaceMeta, type NamespaceSource } from "../policy/namespace.js";
import { apiFailure, isNotFound } from "./api-errors.js";
import { keepInformerRunning } from "./informer.js";
import { LIST_TIMEOUT_MS, withTimeout } from "./request-options.js";

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

/** After a live read confirmed a namespace is not enabled, the cache is trusted this long. */
const CONFIRMED_MS = 30_000;

/**
 * A watch-backed view of every Namespace's labels and annotations, so admission never does a GET per
 * review. Two cases fall back to one GET: a namespace newer than the last watch event (a miss), and
 * one the cache holds as not enabled. The API server only calls the webhook for namespaces its
 * selector matched, so "not enabled" usually means the label arrived a moment ago and its watch event
 * has not (`kubectl label ns x …` right before `kubectl apply`).
 */
export function createNamespaceCache(
  kc: KubeConfig,
  logger: Logger,
  options: { retryBaseMs?: number; policy?: AdmissionPolicy } = {},
): NamespaceCache {
  const api = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Namespace>(kc, "/api/v1/namespaces", () =>
    api.listNamespace({}, withTimeout(LIST_TIMEOUT_MS)),
  );
  const kept = keepInformerRunning(informer, { what: "namespace", logger, retryBaseMs: options.retryBaseMs });
  const listeners: ((ns: NamespaceMeta, deleted: boolean) => void)[] = [];
  const confirmed = new Map<string, { resourceVersion?: string; at: number }>();

  const notify = (obj: V1Namespace, deleted: boolean) => {
    const meta = toNamespaceMeta(obj);
    for (const listener of listeners) listener(meta, deleted);
  };
  informer.on("add", (obj) => notify(obj, false));
  informer.on("update", (obj) => notify(obj, false));
  informer.on("delete", (obj) => notify(obj, true));

  const live = (name: string) =>
    api.readNamespace({ name }, withTimeout()).then(
      (ns) => {
        confirmed.set(name, { resourceVersion: ns.metadata?.resourceVersion, at: Date.now() });
        return toNamespaceMeta(ns);
      },
      (error: unknown) => {
        if (isNotFound(apiFailure(error))) return undefined;
        throw error;
      },
    );

  const confirmedRecently = (ns: V1Namespace) => {
    const check = confirmed.get(ns.metadata?.name ?? "");
    return (
      check !== undefined &&
      check.resourceVersion === ns.metadata?.resourceVersion &&
      Date.now() - check.at < CONFIRMED_MS
    );
  };

  return {
    synced: kept.synced,
    list: () => informer.list().map(toNamespaceMeta),
    onChange: (listener) => void listeners.push(listener),
    get(name) {
      const cached = informer.get(name);
      if (!cached) return live(name);
      const meta = metaOf(cached);
      if (!options.policy || namespaceEnabled(meta, options.policy) || confirmedRecently(cached)) return meta;
      return live(name);
    },
    start: kept.start,
    stop: kept.stop,
  };
}
