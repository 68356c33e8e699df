import type { EventRecorder } from "../kube/events.js";
import type { TokenSource } from "../ecr/token-source.js";
import type { NamespaceMeta } from "../policy/namespace.js";
import type { Logger } from "../log/logger.js";
import type { Metrics } from "../metrics/metrics.js";
import type { V1Secret } from "@kubernetes/client-node";
import { apiFailure } from "../kube/api-errors.js";
import type { RefreshOutcome, SecretEnsurer } from "../secrets/secret-ensurer.js";
import { TOKEN_LIFETIME_MS, type TokenTimes } from "../ecr/token-freshness.js";
import { mapLimit } from "../util/map-limit.js";

/** When a token was obtained; entries written before issue times were recorded: from their expiry. */
const issuedAt = (t: TokenTimes) => t.issuedAt?.getTime() ?? t.expiresAt.getTime() - TOKEN_LIFETIME_MS;

export interface RotationDeps {
  readonly listEnabledNamespaces: () => Promise<NamespaceMeta[]>;
  /** Every pull Secret in the cluster, a page at a time; without it each namespace's is read by GET. */
  readonly listPullSecrets?: () => AsyncIterable<V1Secret[]>;
  readonly ensurer: SecretEnsurer;
  readonly tokens: TokenSource;
  readonly events?: EventRecorder;
  /** Hosts every enabled namespace gets (the configured default registry), possibly none. */
  readonly defaultHosts: readonly string[];
  readonly concurrency: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
}

export interface CycleSummary {
  readonly namespaces: number;
  readonly refreshed: number;
  readonly fresh: number;
  readonly absent: number;
  readonly failed: readonly { namespace: string; message: string }[];
  readonly ecrCalls: number;
  readonly durationMs: number;
  readonly oldestTokenAgeSeconds?: number;
}

/** What a cycle keeps of each namespace: counted as it comes, so no Secret's content outlives its pass. */
class Tally {
  readonly counts = { refreshed: 0, fresh: 0, absent: 0 };
  readonly failed: { namespace: string; message: string }[] = [];
  oldest = Infinity;

  constructor(private readonly deps: RotationDeps) {}

  add(namespace: string, outcome: RefreshOutcome): void {
    this.deps.metrics.rotationRefreshes.inc({ result: outcome.status });
    if (outcome.status === "failed") {
      this.failed.push({ namespace, message: outcome.detail });
      this.deps.events?.pullSecretEvent(namespace, {
        type: "Warning",
        reason: "PullSecretRefreshFailed",
        message: outcome.message,
      });
      return;
    }
    this.counts[outcome.status] += 1;
    for (const times of outcome.expiries.values()) this.oldest = Math.min(this.oldest, issuedAt(times));
  }
}

/**
 * Each enabled namespace's refresh. The pull Secrets' metadata comes from a list, a page (500) at a
 * time, so a namespace costs one request (the write, if any) instead of a GET and a write. The
 * writes never wait for a list: the next page is read while the current one is written, and the
 * `concurrency` writers go from one page into the next without waiting for the slowest write of a
 * page. At most two pages are held. Namespaces no page held (no Secret yet, or the list failed) are
 * read one by one.
 */
async function refreshAll(
  deps: RotationDeps,
  namespaces: readonly NamespaceMeta[],
  tally: Tally,
): Promise<void> {
  const enabled = new Map(namespaces.map((ns) => [ns.name, ns]));
  const done = new Set<string>();
  const refresh = async (namespace: NamespaceMeta, listed?: V1Secret) => {
    done.add(namespace.name);
    tally.add(namespace.name, await deps.ensurer.refresh(namespace, deps.defaultHosts, listed));
  };
  const listed = itemsAhead(deps.listPullSecrets?.() ?? []);
  let listFailed: unknown;
  const writer = async () => {
    for (;;) {
      let next: IteratorResult<V1Secret>;
      try {
        next = await listed.next();
      } catch (error) {
        listFailed ??= error;
        return;
      }
      if (next.done) return;
      const namespace = enabled.get(next.value.metadata?.namespace ?? "");
      if (namespace && !done.has(namespace.name)) await refresh(namespace, next.value);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.concurrency) }, writer));
  if (listFailed !== undefined) {
    deps.logger.warn(
      { err: apiFailure(listFailed).message },
      "could not list pull Secrets; reading each namespace's instead",
    );
  }
  const rest = namespaces.filter((ns) => !done.has(ns.name));
  await mapLimit(rest, deps.concurrency, (ns) => refresh(ns));
}

/**
 * The items of a paged list, one at a time, the next page requested as soon as the current one has
 * arrived. Safe for several consumers at once: an async generator serves its next() calls in turn.
 */
async function* itemsAhead<T>(pages: AsyncIterable<T[]> | Iterable<T[]>): AsyncGenerator<T> {
  const iterator = Symbol.asyncIterator in pages ? pages[Symbol.asyncIterator]() : pages[Symbol.iterator]();
  let ahead = Promise.resolve(iterator.next());
  for (;;) {
    const page = await ahead;
    if (page.done) return;
    ahead = Promise.resolve(iterator.next());
    // A failure of the page read ahead surfaces when it is awaited, not as an unhandled rejection.
    ahead.catch(() => undefined);
    yield* page.value;
  }
}

/**
 * One pass over every enabled namespace: each managed Secret's stale entries are refreshed. Tokens
 * come from the shared token source, so a cycle makes one ECR call per (identity, region) however
 * many namespaces there are. A failure never removes an entry.
 */
export async function runRotationCycle(deps: RotationDeps): Promise<CycleSummary> {
  const now = deps.now ?? Date.now;
  const started = now();
  const callsBefore = deps.tokens.calls();
  const namespaces = await deps.listEnabledNamespaces();
  const tally = new Tally(deps);
  await refreshAll(deps, namespaces, tally);
  const { counts, failed, oldest } = tally;
  const finished = now();
  const oldestTokenAgeSeconds = Number.isFinite(oldest) ? Math.max(0, (finished - oldest) / 1000) : undefined;
  if (oldestTokenAgeSeconds !== undefined) deps.metrics.oldestTokenAge.set(oldestTokenAgeSeconds);
  if (failed.length === 0) deps.metrics.lastRotationSuccess.set(finished / 1000);
  return {
    namespaces: namespaces.length,
    ...counts,
    failed,
    ecrCalls: deps.tokens.calls() - callsBefore,
    durationMs: finished - started,
    oldestTokenAgeSeconds,
  };
}

export function logSummary(logger: Logger, summary: CycleSummary): void {
  const { failed, ...figures } = summary;
  const line = { ...figures, failed: failed.length, failures: failed.slice(0, 20) };
  if (failed.length > 0) logger.warn(line, "rotation cycle finished with failures");
  else logger.info(line, "rotation cycle finished");
}

export interface RotationLoop {
  stop(): Promise<void>;
}

/**
 * Runs a cycle now and then every `intervalMs` (±10% jitter, so replicas restarted together do
 * not synchronise); after a cycle with failures the next comes sooner. Cycles never overlap and an
 * error never escapes the loop.
 */
export function startRotationLoop(
  deps: RotationDeps & { intervalMs: number; random?: () => number },
): RotationLoop {
  const random = deps.random ?? Math.random;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> | undefined;
  const schedule = (ms: number) => {
    if (!stopped) timer = setTimeout(() => void (running = cycle()), ms);
  };
  const cycle = async () => {
    let retrySoon = false;
    try {
      const summary = await runRotationCycle(deps);
      logSummary(deps.logger, summary);
      retrySoon = summary.failed.length > 0;
    } catch (error) {
      retrySoon = true;
      deps.logger.error({ err: (error as Error).message }, "rotation cycle could not run");
    }
    const base = retrySoon ? Math.min(deps.intervalMs, 60_000) : deps.intervalMs;
    schedule(base * (0.9 + 0.2 * random()));
  };
  schedule(0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
