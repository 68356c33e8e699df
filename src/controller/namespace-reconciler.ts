import type { V1ServiceAccount } from "@kubernetes/client-node";
import type { Operation } from "fast-json-patch";
import { namespaceEnabled } from "../admission/decide.js";
import type { EventRecorder } from "../admission/ensurer.js";
import type { NamespaceMeta } from "../admission/namespace-meta.js";
import type { AdmissionPolicy } from "../config/config.js";
import { withRetry } from "../ecr/retry.js";
import { apiFailure, isRetryable } from "../kube/api-errors.js";
import type { NamespaceCache } from "../kube/namespace-cache.js";
import type { SecretStore } from "../kube/secret-store.js";
import type { ServiceAccountStore } from "../kube/service-accounts.js";
import type { Logger } from "../log/logger.js";
import type { SecretEnsurer } from "../secrets/ensurer.js";
import { isManaged } from "../secrets/pull-secret.js";
import { mapLimit } from "./pool.js";
import { addReferenceOps, removeReferenceOps } from "./service-account-references.js";

export interface ReconcilerDeps {
  readonly cache: NamespaceCache;
  readonly policy: AdmissionPolicy;
  readonly serviceAccounts: ServiceAccountStore;
  readonly secrets: SecretStore;
  readonly ensurer: SecretEnsurer;
  readonly defaultHosts: readonly string[];
  readonly keepOnDisable: boolean;
  readonly concurrency: number;
  readonly logger: Logger;
  readonly events?: EventRecorder;
}

export interface NamespaceReconciler {
  /** Becomes active (on the leader): brings every namespace in line, then follows changes. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when no work is queued (for tests and shutdown). */
  settle(): Promise<void>;
}

const TRANSIENT = { baseMs: 200, capMs: 5_000, attempts: 4 };

/**
 * Follows namespaces gaining and losing the opt-in label. Gaining it: existing ServiceAccounts get
 * the reference (appended and marked) and the default registry's Secret is created. Losing it: the
 * managed Secret is deleted and only the references ecr-webhook added are removed (unless
 * --keep-on-disable). Excluded namespaces are never touched.
 */
export function createNamespaceReconciler(deps: ReconcilerDeps): NamespaceReconciler {
  const state = new Map<string, boolean>();
  const queues = new Map<string, Promise<void>>();
  let active = false;
  const secretName = deps.policy.secretName;
  const wanted = (ns: NamespaceMeta) => namespaceEnabled(ns, deps.policy) && !ns.terminating;
  const excluded = (name: string) => deps.policy.excludeNamespaces.includes(name);

  const enqueue = (namespace: string, work: () => Promise<void>) => {
    const next = (queues.get(namespace) ?? Promise.resolve()).then(work).catch((error: unknown) => {
      const message = apiFailure(error).message;
      deps.logger.warn({ namespace, err: message }, "namespace reconcile failed");
      deps.events?.namespaceEvent(namespace, { type: "Warning", reason: "ReconcileFailed", message });
    });
    queues.set(namespace, next);
    void next.then(() => queues.get(namespace) === next && queues.delete(namespace));
    return next;
  };

  /** Patches one ServiceAccount, recomputing from a fresh read when our view was stale (422/409). */
  const patchServiceAccount = async (
    namespace: string,
    sa: V1ServiceAccount,
    opsFor: (sa: V1ServiceAccount) => Operation[],
  ) => {
    let current = sa;
    for (let attempt = 0; attempt < 5; attempt++) {
      const ops = opsFor(current);
      if (ops.length === 0) return;
      try {
        await withRetry(() => deps.serviceAccounts.patch(namespace, current.metadata!.name!, ops), {
          ...TRANSIENT,
          retryable: (e) => isRetryable(apiFailure(e)),
        });
        return;
      } catch (error) {
        const code = apiFailure(error).code;
        if (code !== 422 && code !== 409) throw error;
        current = await deps.serviceAccounts.read(namespace, current.metadata!.name!);
      }
    }
  };

  const forEachServiceAccount = async (namespace: string, opsFor: (sa: V1ServiceAccount) => Operation[]) => {
    const list = await withRetry(() => deps.serviceAccounts.list(namespace), {
      ...TRANSIENT,
      retryable: (e) => isRetryable(apiFailure(e)),
    });
    for (const sa of list) await patchServiceAccount(namespace, sa, opsFor);
  };

  const enable = async (namespace: string) => {
    await forEachServiceAccount(namespace, (sa) => addReferenceOps(sa, secretName));
    if (deps.defaultHosts.length > 0) {
      const outcome = await deps.ensurer.refresh(namespace, deps.defaultHosts);
      if (outcome.status === "failed") throw new Error(outcome.message);
    }
    deps.logger.info({ namespace }, "namespace enabled: ServiceAccounts referenced");
  };

  const disable = async (namespace: string) => {
    deps.ensurer.forget(namespace);
    if (deps.keepOnDisable) return;
    const secret = await deps.secrets.read(namespace, secretName);
    // References first, the Secret last: an interrupted clean-up leaves the Secret as the marker
    // that tells the next leader there is still work here. A Secret we do not manage stays.
    await forEachServiceAccount(namespace, (sa) => removeReferenceOps(sa, secretName));
    const ours = secret !== undefined && isManaged(secret);
    if (ours) await deps.secrets.delete(namespace, secretName);
    deps.logger.info({ namespace, secretDeleted: ours }, "namespace disabled: ecr-webhook's traces removed");
  };

  /** At leadership start nothing is known about what changed meanwhile: check every namespace. */
  const resync = async () => {
    const namespaces = deps.cache.list().filter((ns) => !excluded(ns.name));
    await mapLimit(namespaces, deps.concurrency, (ns) => {
      const enabled = wanted(ns);
      state.set(ns.name, enabled);
      if (enabled) return enqueue(ns.name, () => enable(ns.name));
      if (ns.terminating) return Promise.resolve();
      // Only a namespace that still has our Secret can have our references.
      return enqueue(ns.name, async () => {
        const secret = await deps.secrets.read(ns.name, secretName);
        if (secret && isManaged(secret)) await disable(ns.name);
      });
    });
  };

  deps.cache.onChange((ns, deleted) => {
    if (deleted) {
      state.delete(ns.name);
      deps.ensurer.forget(ns.name);
      return;
    }
    if (!active || excluded(ns.name)) return;
    const enabled = wanted(ns);
    const previous = state.get(ns.name);
    state.set(ns.name, enabled);
    if (previous === enabled || (previous === undefined && !enabled)) return;
    if (enabled) void enqueue(ns.name, () => enable(ns.name));
    else if (!ns.terminating) void enqueue(ns.name, () => disable(ns.name));
  });

  const settle = async () => {
    while (queues.size > 0) await Promise.all(queues.values());
  };

  return {
    async start() {
      active = true;
      await resync();
    },
    async stop() {
      active = false;
      await settle();
    },
    settle,
  };
}
