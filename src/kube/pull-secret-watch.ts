import {
  CoreV1Api,
  ListWatch,
  setHeaderOptions,
  Watch,
  type KubeConfig,
  type RequestContext,
  type V1ObjectMeta,
  type V1Secret,
  type V1SecretList,
} from "@kubernetes/client-node";
import type { Logger } from "../log/logger.js";
import { keepInformerRunning, type KeptInformer } from "./informer.js";
import { LIST_PAGE_SIZE, listPages } from "./list-pages.js";
import { LIST_TIMEOUT_MS, withTimeout } from "./request-options.js";

/**
 * What this process knows of each namespace's pull Secret, without a call: metadata only (labels,
 * annotations with the expiry of each entry, resourceVersion), never a password.
 */
export interface SecretMetadataView {
  /** The Secret's metadata as last seen; undefined when it does not exist or is not known. */
  get(namespace: string): V1ObjectMeta | undefined;
  /** What this process just wrote or read (undefined: found absent), ahead of the watch. */
  record(namespace: string, metadata: V1ObjectMeta | undefined): void;
  /** Called when the Secret of a namespace changes behind this process's back. */
  onChange(listener: (namespace: string) => void): void;
}

/** Without a working watch, what this process itself wrote is trusted for this long only. */
const UNWATCHED_TRUST_MS = 30_000;

interface Seen {
  readonly metadata: V1ObjectMeta;
  readonly at: number;
}

/** resourceVersions are opaque, but etcd's are integers: a stale event must not undo a newer write. */
function older(candidate: V1ObjectMeta | undefined, current: V1ObjectMeta | undefined): boolean {
  const [a, b] = [Number(candidate?.resourceVersion), Number(current?.resourceVersion)];
  return Number.isSafeInteger(a) && Number.isSafeInteger(b) && a < b;
}

/**
 * The metadata a view keeps: all of it but managedFields, which no reader of a view looks at and
 * which the API server puts in every answer (about 1 KiB a Secret parsed; 25 MB over a 10,000
 * namespace rotation, held until the process ends).
 */
function withoutManagedFields(metadata: V1ObjectMeta): V1ObjectMeta {
  if (metadata.managedFields === undefined) return metadata;
  const rest = { ...metadata };
  delete rest.managedFields;
  return rest;
}

/** Namespaces a recording view remembers at most; the oldest record goes first. */
const RECORDED_NAMESPACES = 1_000;

/**
 * A view that knows only what this process wrote or read, for a limited time (one-shot commands),
 * of the last RECORDED_NAMESPACES namespaces: a rotation pass reads its record within the pass, so a
 * 10,000-namespace `refresh` need not keep all of them to the end. Forgetting only costs a read.
 */
export function recordingView(
  now: () => number = Date.now,
  trustMs = UNWATCHED_TRUST_MS,
  capacity = RECORDED_NAMESPACES,
): SecretMetadataView {
  const seen = new Map<string, Seen>();
  return {
    get(namespace) {
      const entry = seen.get(namespace);
      return entry && now() - entry.at < trustMs ? entry.metadata : undefined;
    },
    record(namespace, metadata) {
      seen.delete(namespace);
      if (!metadata) return;
      seen.set(namespace, { metadata: withoutManagedFields(metadata), at: now() });
      if (seen.size > capacity) seen.delete(seen.keys().next().value!);
    },
    onChange: () => undefined,
  };
}

const METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
export const METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

export interface PullSecretWatch extends SecretMetadataView, KeptInformer {}

/**
 * Watches the pull Secret of every namespace (and nothing else: the field selector names it, which is
 * also what lets RBAC grant list/watch on that one name), as metadata only, so that a Secret deleted or
 * edited by hand, or by another replica, is seen by every replica within moments. Memory stays small:
 * a few hundred bytes per namespace, whatever the tokens weigh.
 */
export function watchPullSecrets(
  kc: KubeConfig,
  secretName: string,
  logger: Logger,
  options: { retryBaseMs?: number } = {},
): PullSecretWatch {
  const api = kc.makeApiClient(CoreV1Api);
  const fieldSelector = `metadata.name=${secretName}`;
  const listOptions = setHeaderOptions("Accept", METADATA_LIST, withTimeout(LIST_TIMEOUT_MS));
  const list = async (): Promise<V1SecretList> => {
    const items: V1Secret[] = [];
    // The informer watches from the last page's resourceVersion.
    let last: V1SecretList | undefined;
    const pages = listPages(async (next) => {
      last = await api.listSecretForAllNamespaces(
        { fieldSelector, limit: LIST_PAGE_SIZE, _continue: next },
        listOptions,
      );
      return { items: last.items, next: last.metadata?._continue };
    });
    for await (const page of pages) items.push(...page);
    return { ...last!, items };
  };
  // client-node's Watch takes its headers from the KubeConfig; this one asks for metadata only.
  const metadataOnly = {
    getCurrentCluster: () => kc.getCurrentCluster(),
    applySecurityAuthentication: async (context: RequestContext) => {
      await kc.applySecurityAuthentication(context);
      context.setHeaderParam("Accept", METADATA);
    },
  } as unknown as KubeConfig;
  const informer = new ListWatch<V1Secret>(
    "/api/v1/secrets",
    new Watch(metadataOnly),
    list,
    false,
    undefined,
    fieldSelector,
  );
  const kept = keepInformerRunning(informer, {
    what: "pull Secret",
    logger,
    retryBaseMs: options.retryBaseMs,
  });
  const seen = new Map<string, Seen>();
  const listeners: ((namespace: string) => void)[] = [];

  const observe = (secret: V1Secret, deleted: boolean) => {
    const namespace = secret.metadata?.namespace;
    if (!namespace) return;
    if (deleted || !secret.metadata) seen.delete(namespace);
    else if (older(secret.metadata, seen.get(namespace)?.metadata)) return;
    else seen.set(namespace, { metadata: withoutManagedFields(secret.metadata), at: Date.now() });
    for (const listener of listeners) listener(namespace);
  };
  informer.on("add", (secret) => observe(secret, false));
  informer.on("update", (secret) => observe(secret, false));
  informer.on("delete", (secret) => observe(secret, true));

  return {
    ...kept,
    get(namespace) {
      const entry = seen.get(namespace);
      if (!entry) return undefined;
      return kept.healthy() || Date.now() - entry.at < UNWATCHED_TRUST_MS ? entry.metadata : undefined;
    },
    record(namespace, metadata) {
      if (!metadata) seen.delete(namespace);
      else if (!older(metadata, seen.get(namespace)?.metadata))
        seen.set(namespace, { metadata: withoutManagedFields(metadata), at: Date.now() });
    },
    onChange: (listener) => void listeners.push(listener),
  };
}
