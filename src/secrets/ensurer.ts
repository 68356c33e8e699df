import type { V1Secret } from "@kubernetes/client-node";
import type { CredentialEnsurer, EnsureFailure, EnsureResult, EventRecorder } from "../admission/ensurer.js";
import { TokenError, type TokenSource } from "../ecr/token-source.js";
import { sleep, backoffDelay, type Backoff } from "../ecr/retry.js";
import type { SecretStore } from "../kube/secret-store.js";
import {
  apiFailure,
  isAlreadyExists,
  isConflict,
  isNamespaceTerminating,
  isRetryable,
} from "../kube/api-errors.js";
import type { Logger } from "../log/logger.js";
import type { Metrics } from "../metrics/metrics.js";
import { classifyImage, type EcrRegistry } from "../registry/ecr-registry.js";
import {
  buildSecret,
  isManaged,
  mergeEntries,
  readEntries,
  staleHosts,
  type Entries,
  type RegistryEntry,
} from "./pull-secret.js";

export interface EnsurerDeps {
  readonly store: SecretStore;
  readonly tokens: TokenSource;
  readonly secretName: string;
  readonly minTokenTtlMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly events?: EventRecorder;
  readonly now?: () => number;
  readonly backoff?: Backoff;
  readonly retry?: BackgroundRetry;
}

/**
 * After a failed ensure the webhook has already admitted the pod with the reference; its Secret is
 * then retried in the background so that the pod can pull as soon as AWS or the API server recovers,
 * without waiting for another pod in the namespace or the next rotation cycle.
 */
export interface BackgroundRetry {
  readonly firstMs: number;
  readonly capMs: number;
  /** Past this, retries stop; rotation and the next pod's review remain. */
  readonly giveUpAfterMs: number;
}

export interface SecretEnsurer extends CredentialEnsurer {
  /**
   * Rotation: reads the Secret afresh and refreshes every stale entry in it, adding `wanted` hosts
   * (the default registry) when given; without them an absent Secret is left absent.
   */
  refresh(namespace: string, wanted?: readonly string[]): Promise<RefreshOutcome>;
  /** The earliest expiry among the entries this process knows for a namespace. */
  earliestExpiry(namespace: string): Date | undefined;
  /** Drops what this process remembers of a namespace (it was disabled or deleted). */
  forget(namespace: string): void;
  /** Cancels background retries (shutdown). */
  close(): void;
}

export type RefreshOutcome =
  { status: "fresh" | "refreshed" | "absent" } | { status: "failed"; reason: EnsureFailure; message: string };

/** How long a namespace that cannot be served is answered from memory, to avoid request storms. */
const BLOCK_MS: Record<EnsureFailure, number> = {
  unmanaged_secret: 60_000,
  namespace_terminating: 300_000,
  error: 0,
};
const MAX_CONFLICTS = 10;
const DEFAULT_BACKOFF: Backoff = { baseMs: 200, capMs: 5_000, attempts: 6 };
// kubelet retries a failed pull with back-off up to 5 min; retrying as often keeps pace with it.
const DEFAULT_RETRY: BackgroundRetry = { firstMs: 5_000, capMs: 300_000, giveUpAfterMs: 3_600_000 };

type PassResult = "absent" | "fresh" | "refreshed";

const OK: EnsureResult = Object.freeze({ ok: true });

interface PendingRetry {
  readonly hosts: Set<string>;
  attempt: number;
  /** Date.now() of the first failure: retries are paced in real time, whatever clock tests inject. */
  readonly since: number;
  timer?: NodeJS.Timeout;
}

class EnsureError extends Error {
  constructor(
    readonly reason: EnsureFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Parses a host back into its registry (hosts the webhook did not write are left alone). */
function registryOfHost(host: string): EcrRegistry | undefined {
  const result = classifyImage(`${host}/x`);
  return result.kind === "ecr" ? result.registry : undefined;
}

/**
 * Makes sure each namespace's pull Secret holds fresh entries. What this process wrote or read is
 * remembered, so the warm path (the thousandth pod of a namespace) makes no API or AWS call. Work for
 * one namespace is serialised, so a burst of pods causes one read and one write; tokens are shared
 * across namespaces by the token source.
 */
export function createSecretEnsurer(deps: EnsurerDeps): SecretEnsurer {
  const now = deps.now ?? Date.now;
  const known = new Map<string, Map<string, RegistryEntry>>();
  const blocked = new Map<string, { until: number; reason: EnsureFailure; message: string }>();
  const queues = new Map<string, Promise<unknown>>();
  const retries = new Map<string, PendingRetry>();

  const satisfied = (namespace: string, hosts: readonly string[]) => {
    const entries = known.get(namespace);
    return entries !== undefined && staleHosts(entries, hosts, now(), deps.minTokenTtlMs).length === 0;
  };

  const serialised = <T>(namespace: string, work: () => Promise<T>): Promise<T> => {
    const run = (queues.get(namespace) ?? Promise.resolve()).then(work, work);
    const tail = run.catch(() => undefined);
    queues.set(namespace, tail);
    void tail.then(() => queues.get(namespace) === tail && queues.delete(namespace));
    return run;
  };

  const freshEntries = async (hosts: readonly string[]): Promise<Map<string, RegistryEntry>> => {
    const fresh = new Map<string, RegistryEntry>();
    await Promise.all(
      hosts.map(async (host) => {
        const registry = registryOfHost(host);
        if (!registry) return;
        const token = await deps.tokens.get(registry.account, registry.region);
        fresh.set(host, { password: token.password, expiresAt: token.expiresAt });
      }),
    );
    return fresh;
  };

  const write = async (desired: V1Secret, existing: V1Secret | undefined): Promise<void> => {
    const operation = existing ? "update" : "create";
    try {
      await (existing ? deps.store.replace(desired) : deps.store.create(desired));
      deps.metrics.secretWrites.inc({ operation, result: "success" });
    } catch (error) {
      deps.metrics.secretWrites.inc({ operation, result: String(apiFailure(error).code ?? "network") });
      throw error;
    }
  };

  /** One read-decide-write pass. */
  const reconcileOnce = async (namespace: string, wanted: readonly string[]): Promise<PassResult> => {
    const existing = await deps.store.read(namespace, deps.secretName);
    if (!existing && wanted.length === 0) return "absent";
    if (existing && !isManaged(existing)) {
      throw new EnsureError(
        "unmanaged_secret",
        `Secret ${namespace}/${deps.secretName} exists and is not managed by ecr-webhook; it is left as is`,
      );
    }
    const entries = existing ? readEntries(existing) : new Map<string, RegistryEntry>();
    const hosts = [...new Set([...wanted, ...entries.keys()])].filter((h) => registryOfHost(h));
    const stale = staleHosts(entries, hosts, now(), deps.minTokenTtlMs);
    if (stale.length === 0 && existing) {
      known.set(namespace, entries);
      return "fresh";
    }
    const merged = mergeEntries(entries, await freshEntries(stale));
    await write(buildSecret(namespace, deps.secretName, merged, existing), existing);
    known.set(namespace, merged);
    return "refreshed";
  };

  /** Retries conflicts at once and transient failures with backoff; gives other failures a reason. */
  const reconcile = async (namespace: string, wanted: readonly string[]): Promise<PassResult> => {
    const backoff = deps.backoff ?? DEFAULT_BACKOFF;
    let conflicts = 0;
    for (let attempt = 0; ;) {
      try {
        return await reconcileOnce(namespace, wanted);
      } catch (error) {
        if (error instanceof EnsureError) throw error;
        // The token source has already retried; its failure is final for this pass.
        if (error instanceof TokenError) throw new EnsureError("error", error.message);
        const failure = apiFailure(error);
        if ((isConflict(failure) || isAlreadyExists(failure)) && ++conflicts < MAX_CONFLICTS) continue;
        if (isNamespaceTerminating(failure))
          throw new EnsureError("namespace_terminating", `namespace ${namespace} is terminating`);
        if (!isRetryable(failure) || ++attempt >= backoff.attempts)
          throw new EnsureError("error", failure.message);
        await sleep(Math.max(backoffDelay(backoff, attempt), (failure.retryAfterSeconds ?? 0) * 1000));
      }
    }
  };

  const fail = (namespace: string, error: unknown): EnsureResult & { ok: false } => {
    const reason = error instanceof EnsureError ? error.reason : "error";
    const message = (error as Error).message;
    if (BLOCK_MS[reason] > 0) blocked.set(namespace, { until: now() + BLOCK_MS[reason], reason, message });
    if (reason === "unmanaged_secret") {
      deps.events?.namespaceEvent(namespace, { type: "Warning", reason: "UnmanagedPullSecret", message });
    }
    deps.logger.warn({ namespace, reason, message }, "pull Secret not ensured");
    return { ok: false, reason, message };
  };

  const cancelRetry = (namespace: string) => {
    clearTimeout(retries.get(namespace)?.timer);
    retries.delete(namespace);
  };

  /** Hosts just ensured need no retry; the retry ends when none is left. */
  const settleRetry = (namespace: string, hosts: readonly string[]) => {
    const pending = retries.get(namespace);
    if (!pending) return;
    hosts.forEach((h) => pending.hosts.delete(h));
    if (pending.hosts.size === 0) cancelRetry(namespace);
  };

  /** Schedules (or widens) the background retry for a namespace; real time, not the test clock. */
  const scheduleRetry = (namespace: string, hosts: readonly string[]) => {
    const settings = deps.retry ?? DEFAULT_RETRY;
    const pending = retries.get(namespace);
    if (pending) {
      hosts.forEach((h) => pending.hosts.add(h));
      if (pending.timer) return;
    }
    const retry = pending ?? { hosts: new Set(hosts), attempt: 0, since: Date.now() };
    if (Date.now() - retry.since >= settings.giveUpAfterMs) {
      deps.logger.warn(
        { namespace },
        "pull Secret still not ensured; background retries stop until the next pod or rotation",
      );
      retries.delete(namespace);
      return;
    }
    const delay = Math.min(settings.capMs, settings.firstMs * 2 ** retry.attempt++);
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      deps.logger.info({ namespace, attempt: retry.attempt }, "retrying pull Secret in the background");
      void ensureHosts(namespace, [...retry.hosts], true);
    }, delay);
    retry.timer.unref();
    retries.set(namespace, retry);
  };

  const ensureHosts = async (
    namespace: string,
    hosts: readonly string[],
    background = false,
  ): Promise<EnsureResult> => {
    const block = blocked.get(namespace);
    if (block && block.until > now()) {
      cancelRetry(namespace);
      return { ok: false, reason: block.reason, message: block.message };
    }
    const started = process.hrtime.bigint();
    try {
      return await serialised(namespace, async (): Promise<EnsureResult> => {
        if (satisfied(namespace, hosts)) {
          settleRetry(namespace, hosts);
          return { ok: true };
        }
        try {
          await reconcile(namespace, hosts);
          blocked.delete(namespace);
          settleRetry(namespace, hosts);
          return { ok: true };
        } catch (error) {
          const failed = fail(namespace, error);
          if (failed.reason === "error") scheduleRetry(namespace, hosts);
          else cancelRetry(namespace);
          return failed;
        }
      });
    } finally {
      if (!background) deps.metrics.ensureDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  };

  return {
    ensure(namespace, registries) {
      const hosts = registries.map((r) => r.host);
      // The warm path: answered at once, no promise (a pending retry is settled on the way).
      if (satisfied(namespace, hosts)) {
        settleRetry(namespace, hosts);
        return OK;
      }
      return ensureHosts(namespace, hosts);
    },

    refresh(namespace, wanted = []) {
      return serialised(namespace, async (): Promise<RefreshOutcome> => {
        try {
          return { status: await reconcile(namespace, wanted) };
        } catch (error) {
          const failed = fail(namespace, error);
          return { status: "failed", reason: failed.reason, message: failed.message };
        }
      });
    },

    earliestExpiry(namespace) {
      let earliest: Date | undefined;
      for (const entry of known.get(namespace)?.values() ?? []) {
        if (!earliest || entry.expiresAt < earliest) earliest = entry.expiresAt;
      }
      return earliest;
    },

    forget(namespace) {
      known.delete(namespace);
      blocked.delete(namespace);
      cancelRetry(namespace);
    },

    close() {
      for (const namespace of [...retries.keys()]) cancelRetry(namespace);
    },
  };
}

export type { Entries };
