import type { V1ObjectMeta, V1Secret } from "@kubernetes/client-node";
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
import { EnsureError } from "./ensure-error.js";
import { reconcileSecret, type PassRequest, type PassResult } from "./reconcile-pass.js";
import type { AdmissionPolicy } from "../config/config.js";
import type { NamespaceMeta } from "../policy/namespace.js";

export interface EnsurerDeps {
  readonly store: SecretStore;
  readonly tokens: TokenSource;
  /** The Secret's name, the allow-lists every entry is re-checked against, --max-registries. */
  readonly policy: AdmissionPolicy;
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
  refresh(namespace: NamespaceMeta, wanted?: readonly string[], listed?: V1Secret): Promise<RefreshOutcome>;
  /** Drops what this process holds for a namespace (it was disabled or deleted). */
  forget(namespace: string): void;
  /** Cancels background retries (shutdown). */
  close(): void;
}

export type RefreshOutcome =
  | PassResult
  | {
      status: "failed";
      reason: EnsureFailure;
      /** For the namespace's users (Events). */
      message: string;
      /** For the operator (logs, the refresh summary). */
      detail: string;
    };

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
  // When a pod last asked for each host, per namespace: the warm path counts too.
  const asked = new Map<string, Map<string, number>>();
  const noteAsked = (namespace: string, hosts: readonly string[]) => {
    let hostsAsked = asked.get(namespace);
    if (!hostsAsked) asked.set(namespace, (hostsAsked = new Map<string, number>()));
    const at = now();
    for (const host of hosts) hostsAsked.set(host, at);
  };
  const request = (namespace: NamespaceMeta, wanted: readonly string[], listed?: V1Secret): PassRequest => ({
    namespace,
    wanted,
    lastAsked: (host) => asked.get(namespace.name)?.get(host) ?? 0,
    ...(listed ? { listed } : {}),
  });

  /** What a pass took out of the Secret is told to the namespace's users and to the operator. */
  const report = (namespace: string, result: PassResult) => {
    if (result.dropped.length > 0) {
      const message = `removed from the pull Secret: ${result.dropped.map((d) => `${d.host} (${d.why})`).join("; ")}`;
      deps.events?.pullSecretEvent(namespace, { type: "Warning", reason: "PullSecretEntryDropped", message });
      deps.logger.warn(
        { namespace, dropped: result.dropped },
        "pull Secret entries no longer allowed were dropped",
      );
    }
    if (result.evicted.length > 0) {
      const message = `the pull Secret holds at most ${deps.policy.maxRegistries} registries; removed the ones asked for least recently: ${result.evicted.join(", ")}`;
      deps.events?.pullSecretEvent(namespace, { type: "Warning", reason: "PullSecretEntryEvicted", message });
      deps.logger.warn({ namespace, evicted: result.evicted }, "pull Secret full: entries evicted");
    }
    return result;
  };
  // Someone changed the Secret (deleted an unmanaged one, say): what was blocked is worth a new look.
  view.onChange((namespace) => blocked.delete(namespace));

  const satisfied = (namespace: string, hosts: readonly string[]) => {
    const metadata = view.get(namespace);
    if (!metadata || !isManaged({ metadata })) return false;
    return staleHosts(expiriesOf(metadata), hosts, now(), deps.minTokenTtlMs).length === 0;
  };

  const fail = (namespace: string, error: unknown) => {
    const reason = error instanceof EnsureError ? error.reason : "error";
    const message = (error as Error).message;
    const detail = error instanceof EnsureError ? error.detail : message;
    if (BLOCK_MS[reason] > 0) blocked.set(namespace, { until: now() + BLOCK_MS[reason], reason, message });
    if (reason === "unmanaged_secret") {
      deps.events?.pullSecretEvent(namespace, { type: "Warning", reason: "UnmanagedPullSecret", message });
    }
    deps.logger.warn({ namespace, reason, message: detail }, "pull Secret not ensured");
    return { ok: false as const, reason, message, detail };
  };

  // Retries are keyed by name; the namespace's rules are those of the review that failed.
  const retried = new Map<string, NamespaceMeta>();
  const retries = backgroundRetries(deps.retry ?? DEFAULT_RETRY, deps.logger, async (name, hosts) => {
    const meta = retried.get(name);
    if (meta) await ensureHosts(meta, hosts, true);
  });

  async function ensureHosts(meta: NamespaceMeta, hosts: readonly string[], background = false) {
    const namespace = meta.name;
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
            report(namespace, await reconcileSecret(passDeps, request(meta, hosts)));
            blocked.delete(namespace);
          } catch (error) {
            const { ok, reason, message } = fail(namespace, error);
            if (reason === "error") {
              retried.set(namespace, meta);
              retries.schedule(namespace, hosts);
            } else retries.cancel(namespace);
            return { ok, reason, message };
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
      noteAsked(namespace.name, hosts);
      // The warm path: answered at once, no promise (a pending retry is settled on the way).
      if (satisfied(namespace.name, hosts)) {
        retries.settle(namespace.name, hosts);
        return OK;
      }
      return ensureHosts(namespace, hosts);
    },

    refresh(namespace, wanted = [], listed) {
      return queue.run(namespace.name, async (): Promise<RefreshOutcome> => {
        try {
          return report(namespace.name, await reconcileSecret(passDeps, request(namespace, wanted, listed)));
        } catch (error) {
          const { reason, message, detail } = fail(namespace.name, error);
          return { status: "failed", reason, message, detail };
        }
      });
    },

    forget(namespace) {
      blocked.delete(namespace);
      asked.delete(namespace);
      retried.delete(namespace);
      retries.cancel(namespace);
    },

    close: () => retries.close(),
  };
}
