import type { V1Secret } from "@kubernetes/client-node";
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
import { askedHosts } from "./asked-hosts.js";
import { failureOf } from "./ensure-error.js";
import { failureBlocks } from "./failure-blocks.js";
import { reportFailure, reportPass } from "./pass-report.js";
import { reconcileSecret, type PassRequest, type PassResult } from "./reconcile-pass.js";
import type { AdmissionPolicy } from "../config/config.js";
import type { NamespaceMeta } from "../policy/namespace.js";
import { freshInView } from "./view-freshness.js";

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

const DEFAULT_BACKOFF: Backoff = { baseMs: 200, capMs: 5_000, attempts: 6 };
const OK: EnsureResult = Object.freeze({ ok: true });

/**
 * Makes sure each namespace's pull Secret holds fresh entries. The warm path (the thousandth pod of a
 * namespace) is answered from the view and makes no call; anything else is one read-decide-write pass,
 * serialised per namespace so that a burst of pods causes one read and one write. Tokens are shared
 * across namespaces by the token source.
 */
export function createSecretEnsurer(deps: EnsurerDeps): SecretEnsurer {
  const now = deps.now ?? Date.now;
  const view = deps.view ?? recordingView(now);
  const blocked = failureBlocks(now);
  const queue = keyedQueue();
  const passDeps = { ...deps, view, now, backoff: deps.backoff ?? DEFAULT_BACKOFF };
  const asked = askedHosts(now);
  const request = (namespace: NamespaceMeta, wanted: readonly string[], listed?: V1Secret): PassRequest => ({
    namespace,
    wanted,
    lastAsked: asked.lastAsked(namespace.name),
    ...(listed ? { listed } : {}),
  });

  // Someone changed the Secret (deleted an unmanaged one, say): what was blocked is worth a new look.
  view.onChange((namespace) => blocked.clear(namespace));

  const satisfied = (namespace: string, hosts: readonly string[]) =>
    freshInView(view, namespace, hosts, { now: now(), minTokenTtlMs: deps.minTokenTtlMs });

  const fail = (namespace: string, error: unknown) => {
    const failure = failureOf(error);
    blocked.note(namespace, failure);
    reportFailure(deps, namespace, failure);
    return { ok: false as const, ...failure };
  };

  // Retries are keyed by name; the namespace's rules are those of the review that failed.
  const retried = new Map<string, NamespaceMeta>();
  const retries = backgroundRetries(deps.retry ?? DEFAULT_RETRY, deps.logger, async (name, hosts) => {
    const meta = retried.get(name);
    if (meta) await ensureHosts(meta, hosts, true);
  });

  async function ensureHosts(meta: NamespaceMeta, hosts: readonly string[], background = false) {
    const namespace = meta.name;
    const block = blocked.current(namespace);
    if (block) {
      retries.cancel(namespace);
      return { ok: false, reason: block.reason, message: block.message } as const;
    }
    const started = process.hrtime.bigint();
    try {
      return await queue.run(namespace, async (): Promise<EnsureResult> => {
        if (!satisfied(namespace, hosts)) {
          try {
            reportPass(deps, namespace, await reconcileSecret(passDeps, request(meta, hosts)));
            blocked.clear(namespace);
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
      asked.note(namespace.name, hosts);
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
          return reportPass(
            deps,
            namespace.name,
            await reconcileSecret(passDeps, request(namespace, wanted, listed)),
          );
        } catch (error) {
          const { reason, message, detail } = fail(namespace.name, error);
          return { status: "failed", reason, message, detail };
        }
      });
    },

    forget(namespace) {
      blocked.clear(namespace);
      asked.forget(namespace);
      retried.delete(namespace);
      retries.cancel(namespace);
    },

    close: () => retries.close(),
  };
}
