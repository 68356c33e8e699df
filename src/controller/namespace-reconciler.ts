import type { V1ServiceAccount } from "@kubernetes/client-node";
import type { Operation } from "fast-json-patch";
import type { AdmissionPolicy } from "../config/config.js";
import { apiFailure, isNotFound, isRetryable } from "../kube/api-errors.js";
import type { EventRecorder } from "../kube/events.js";
import type { NamespaceCache } from "../kube/namespace-cache.js";
import type { SecretStore } from "../kube/secret-store.js";
import type { ServiceAccountStore } from "../kube/service-accounts.js";
import type { Logger } from "../log/logger.js";
import { namespaceEnabled, type NamespaceMeta } from "../policy/namespace.js";
import { isManaged } from "../secrets/pull-secret.js";
import type { SecretEnsurer } from "../secrets/secret-ensurer.js";
import { withRetry, type RetryVerdict } from "../util/backoff.js";
import { keyedQueue } from "../util/keyed-queue.js";
import { mapLimit } from "../util/map-limit.js";
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
/** Stale views (422/409) recomputed from a fresh read before a ServiceAccount patch gives up. */
const RECOMPUTE = 4;

/** A 422 (the resourceVersion `test` failed) or 409 means the view was stale: re-read and recompute. */
function patchVerdict(error: unknown): RetryVerdict {
  const failure = apiFailure(error);
  if (failure.code === 422 || failure.code === 409) return "now";
  return isRetryable(failure) ? { waitMs: (failure.retryAfterSeconds ?? 0) * 1000 } : "fail";
}

const transientVerdict = (error: unknown): RetryVerdict =>
  isRetryable(apiFailure(error)) ? { waitMs: (apiFailure(error).retryAfterSeconds ?? 0) * 1000 } : "fail";

/**
 * Follows namespaces gaining and losing the opt-in label. Gaining it: existing ServiceAccounts get
 * the reference, appended and marked (only with --patch-service-accounts), and the default registry's
 * Secret is created. Losing it: the references ecr-webhook added are removed and its Secret deleted
 * (unless --keep-on-disable). Excluded namespaces are never touched.
 */
export function createNamespaceReconciler(deps: ReconcilerDeps): NamespaceReconciler {
  const state = new Map<string, boolean>();
  const queue = keyedQueue();
  let active = false;
  const secretName = deps.policy.secretName;
  const wanted = (ns: NamespaceMeta) => namespaceEnabled(ns, deps.policy) && !ns.terminating;
  const excluded = (name: string) => deps.policy.excludeNamespaces.includes(name);

  const enqueue = (namespace: string, work: () => Promise<void>) =>
    queue.run(namespace, work).catch((error: unknown) => {
      const message = apiFailure(error).message;
      deps.logger.warn({ namespace, err: message }, "namespace reconcile failed");
      deps.events?.pullSecretEvent(namespace, { type: "Warning", reason: "ReconcileFailed", message });
    });

  /** Patches one ServiceAccount, recomputing from a fresh read after a conflict; a deleted one is done. */
  const patchServiceAccount = (
    namespace: string,
    sa: V1ServiceAccount,
    opsFor: (sa: V1ServiceAccount) => Operation[],
  ) => {
    const name = sa.metadata!.name!;
    return withRetry(
      async (attempt) => {
        const current = attempt === 0 ? sa : await deps.serviceAccounts.read(namespace, name);
        const ops = opsFor(current);
        if (ops.length > 0) await deps.serviceAccounts.patch(namespace, name, ops);
      },
      { ...TRANSIENT, verdict: patchVerdict, immediate: RECOMPUTE },
    ).catch((error: unknown) => {
      if (!isNotFound(apiFailure(error))) throw error;
    });
  };

  const forEachServiceAccount = async (namespace: string, opsFor: (sa: V1ServiceAccount) => Operation[]) => {
    const list = await withRetry(() => deps.serviceAccounts.list(namespace), {
      ...TRANSIENT,
      verdict: transientVerdict,
    });
    for (const sa of list) await patchServiceAccount(namespace, sa, opsFor);
  };

  const enable = async (ns: NamespaceMeta) => {
    const namespace = ns.name;
    if (deps.policy.patchServiceAccounts) {
      await forEachServiceAccount(namespace, (sa) => addReferenceOps(sa, secretName));
    }
    if (deps.defaultHosts.length > 0) {
      const outcome = await deps.ensurer.refresh(ns, deps.defaultHosts);
      if (outcome.status === "failed") throw new Error(outcome.message);
    }
    deps.logger.info({ namespace, serviceAccounts: deps.policy.patchServiceAccounts }, "namespace enabled");
  };

  const disable = async (namespace: string) => {
    deps.ensurer.forget(namespace);
    if (deps.keepOnDisable) return;
    const secret = await deps.secrets.read(namespace, secretName);
    // References first, the Secret last: an interrupted clean-up leaves the Secret as the marker
    // that tells the next leader there is still work here. A Secret we do not manage stays. Marked
    // references go whatever --patch-service-accounts says now: an earlier setting may have added them.
    await forEachServiceAccount(namespace, (sa) => removeReferenceOps(sa, secretName));
    const deleted = secret !== undefined && isManaged(secret) && (await deps.secrets.delete(secret));
    deps.logger.info(
      { namespace, secretDeleted: deleted },
      "namespace disabled: ecr-webhook's traces removed",
    );
  };

  /** At leadership start nothing is known about what changed meanwhile: check every namespace. */
  const resync = async () => {
    const namespaces = deps.cache.list().filter((ns) => !excluded(ns.name));
    await mapLimit(namespaces, deps.concurrency, (ns) => {
      const enabled = wanted(ns);
      state.set(ns.name, enabled);
      if (enabled) return enqueue(ns.name, () => enable(ns));
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
    if (enabled) void enqueue(ns.name, () => enable(ns));
    else if (!ns.terminating) void enqueue(ns.name, () => disable(ns.name));
  });

  return {
    async start() {
      active = true;
      await resync();
    },
    async stop() {
      active = false;
      await queue.idle();
    },
    settle: () => queue.idle(),
  };
}
