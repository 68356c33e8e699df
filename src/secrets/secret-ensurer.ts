import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { TokenSource } from "../ecr/token-source.js";
import type { EventRecorder } from "../kube/events.js";
import { recordingView, type SecretMetadataView } from "../kube/pull-secret-watch.js";
import type { SecretStore } from "../kube/secret-store.js";
import type { Logger } from "../log/logger.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Backoff } from "../util/backoff.js";
import { keyedQueue } from "../util/keyed-queue.js";
import { backgroundRetries, DEFAULT_RETRY, type BackgroundRetrySettings } from "./background-retry.js";
import type { CredentialEnsurer, EnsureFailure, EnsureResult } from "./credential-ensurer.js";
import { isManaged, readExpiries, staleHosts, type Expiries } from "./pull-secret.js";
import { EnsureError, reconcileSecret, type PassResult } from "./reconcile-pass.js";

export interface EnsurerDeps {
  readonly store: SecretStore;
  readonly tokens: TokenSource;
  readonly secretName: string;
  readonly minTokenTtlMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly events?: EventRecorder;
  /**
   * What is known of each Secret without a call: the watch in `serve`; by default only what this
   * process itself wrote, trusted briefly.
   */
  readonly view?: SecretMetadataView;
  readonly now?: () => number;
  readonly backoff?: Backoff;
  readonly retry?: BackgroundRetrySettings;
}

export interface SecretEnsurer extends CredentialEnsurer {
  /**
   * Rotation: reads the Secret afresh and refreshes every entry due in it, adding `wanted` hosts
   * (the default registry) when given; without them an absent Secret is left absent.
   */
  refresh(namespace: string, wanted?: readonly string[]): Promise<RefreshOutcome>;
  /** Drops what this process holds for a namespace (it was disabled or deleted). */
  forget(namespace: string): void;
  /** Cancels background retries (shutdown). */
  close(): void;
}

export type RefreshOutcome =
  | { status: PassResult["status"]; expiries: Expiries }
  | { status: "failed"; reason: EnsureFailure; message: string };

/** How long a namespace that cannot be served is answered from memory, to avoid request storms. */
const BLOCK_MS: Record<EnsureFailure, number> = {
  unmanaged_secret: 60_000,
  namespace_terminating: 300_000,
  error: 0,
};
const DEFAULT_BACKOFF: Backoff = { baseMs: 200, capMs: 5_000, attempts: 6 };
const OK: EnsureResult = Object.freeze({ ok: true });

/** The view's metadata object is replaced on every change, so its parse can be kept with it. */
const parsed = new WeakMap<V1ObjectMeta, Expiries>();
function expiriesOf(metadata: V1ObjectMeta): Expiries {
  let expiries = parsed.get(metadata);
  if (!expiries) parsed.set(metadata, (expiries = readExpiries(metadata)));
  return expiries;
}

/**
 * Makes sure each namespace's pull Secret holds fresh entries. The warm path (the thousandth pod of a
 * namespace) is answered from the view and makes no call; anything else is one read-decide-write pass,
 * serialised per namespace so that a burst of pods causes one read and one write. Tokens are shared
 * across namespaces by the token source.
 */
export function createSecretEnsurer(deps: EnsurerDeps): SecretEnsurer {
  const now = deps.now ?? Date.now;
  const view = deps.view ?? recordingView(now);
  const blocked = new Map<string, { until: number; reason: EnsureFailure; message: string }>();
  const queue = keyedQueue();
  const passDeps = { ...deps, view, now, backoff: deps.backoff ?? DEFAULT_BACKOFF };
  // Someone changed the Secret (deleted an unmanaged one, say): what was blocked is worth a new look.
  view.onChange((namespace) => blocked.delete(namespace));

  const satisfied = (namespace: string, hosts: readonly string[]) => {
    const metadata = view.get(namespace);
    if (!metadata || !isManaged({ metadata })) return false;
    return staleHosts(expiriesOf(metadata), hosts, now(), deps.minTokenTtlMs).length === 0;
  };

  const fail = (namespace: string, error: unknown): EnsureResult & { ok: false } => {
    const reason = error instanceof EnsureError ? error.reason : "error";
    const message = (error as Error).message;
    if (BLOCK_MS[reason] > 0) blocked.set(namespace, { until: now() + BLOCK_MS[reason], reason, message });
    if (reason === "unmanaged_secret") {
      deps.events?.pullSecretEvent(namespace, { type: "Warning", reason: "UnmanagedPullSecret", message });
    }
    deps.logger.warn({ namespace, reason, message }, "pull Secret not ensured");
    return { ok: false, reason, message };
  };

  const retries = backgroundRetries(deps.retry ?? DEFAULT_RETRY, deps.logger, (namespace, hosts) =>
    ensureHosts(namespace, hosts, true),
  );

  async function ensureHosts(namespace: string, hosts: readonly string[], background = false) {
    const block = blocked.get(namespace);
    if (block && block.until > now()) {
      retries.cancel(namespace);
      return { ok: false, reason: block.reason, message: block.message } as const;
    }
    const started = process.hrtime.bigint();
    try {
      return await queue.run(namespace, async (): Promise<EnsureResult> => {
        if (!satisfied(namespace, hosts)) {
          try {
            await reconcileSecret(passDeps, namespace, hosts);
            blocked.delete(namespace);
          } catch (error) {
            const failed = fail(namespace, error);
            if (failed.reason === "error") retries.schedule(namespace, hosts);
            else retries.cancel(namespace);
            return failed;
          }
        }
        retries.settle(namespace, hosts);
        return OK;
      });
    } finally {
      if (!background) deps.metrics.ensureDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  return {
    ensure(namespace, registries) {
      const hosts = registries.map((r) => r.host);
      // The warm path: answered at once, no promise (a pending retry is settled on the way).
      if (satisfied(namespace, hosts)) {
        retries.settle(namespace, hosts);
        return OK;
      }
      return ensureHosts(namespace, hosts);
    },

    refresh(namespace, wanted = []) {
      return queue.run(namespace, async (): Promise<RefreshOutcome> => {
        try {
          return await reconcileSecret(passDeps, namespace, wanted);
        } catch (error) {
          const failed = fail(namespace, error);
          return { status: "failed", reason: failed.reason, message: failed.message };
        }
      });
    },

    forget(namespace) {
      blocked.delete(namespace);
      retries.cancel(namespace);
    },

    close: () => retries.close(),
  };
}
