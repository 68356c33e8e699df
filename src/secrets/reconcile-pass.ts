import type { V1Secret } from "@kubernetes/client-node";
import { TokenError, type TokenSource } from "../ecr/token-source.js";
import {
  apiFailure,
  isAlreadyExists,
  isConflict,
  isNamespaceTerminating,
  isRetryable,
} from "../kube/api-errors.js";
import type { AdmissionPolicy } from "../config/config.js";
import type { SecretMetadataView } from "../kube/pull-secret-watch.js";
import type { SecretStore } from "../kube/secret-store.js";
import type { Metrics } from "../metrics/metrics.js";
import type { NamespaceMeta } from "../policy/namespace.js";
import { recheckHosts, type DroppedEntry } from "../policy/secret-entries.js";
import { withRetry, type Backoff, type RetryVerdict } from "../util/backoff.js";
import { asEnsureError, EnsureError } from "./ensure-error.js";
import { nextEntries, plan } from "./pass-plan.js";
import { startingPoint } from "./pass-starting-point.js";
import { freshEntries, writeSecret } from "./pass-write.js";
import { buildSecret, type Expiries } from "./pull-secret.js";

export interface PassDeps {
  readonly store: SecretStore;
  readonly tokens: TokenSource;
  readonly view: SecretMetadataView;
  /** The rules every entry is checked against on every write, and the bound on their number. */
  readonly policy: AdmissionPolicy;
  readonly minTokenTtlMs: number;
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly backoff: Backoff;
}

/** What a pass found or left: the Secret's entries (their times) after it, and what it took out. */
export interface PassResult {
  readonly status: "absent" | "fresh" | "refreshed";
  readonly expiries: Expiries;
  /** Entries the rules no longer allow (or that are not ECR registries at all). */
  readonly dropped: readonly DroppedEntry[];
  /** Entries that made room: the Secret holds at most --max-registries. */
  readonly evicted: readonly string[];
}

/** What a pass is asked to do, for which namespace. */
export interface PassRequest {
  readonly namespace: NamespaceMeta;
  /** Hosts that must be in the Secret, fresh, after the pass (a pod's registries, the default). */
  readonly wanted: readonly string[];
  /** When a pod last asked for each host, as this process saw it (epoch ms; 0 when never). */
  readonly lastAsked: (host: string) => number;
  /**
   * The Secret's metadata as a metadata-only list just returned it: the first pass decides from it
   * alone, and reads the Secret (a GET) only when it must keep an entry whose password it lacks.
   */
  readonly listed?: V1Secret;
}

/**
 * One read-decide-write pass: read the Secret (or start from its listed metadata), plan, refresh
 * whatever is due, write it back optimistically. What was read or written is recorded in the view.
 */
async function passOnce(deps: PassDeps, request: PassRequest, attempt: number): Promise<PassResult> {
  const { name: namespace } = request.namespace;
  // What is asked for must pass the rules too (the default registry may be outside a namespace's).
  const wanted = recheckHosts(request.wanted, request.namespace, deps.policy).kept;
  // A retry (after a conflict, say) always reads afresh.
  const start = await startingPoint(deps, namespace, attempt === 0 ? request.listed : undefined);
  const { existing, listed, entries } = start;
  if (!existing && wanted.length === 0)
    return { status: "absent", expiries: new Map(), dropped: [], evicted: [] };
  const planned = plan(deps, { ...request, wanted, entries });
  const { hosts, evicted, dropped, stale } = planned;
  if (existing && stale.length === 0 && dropped.length === 0 && evicted.length === 0) {
    return { status: "fresh", expiries: entries, dropped, evicted };
  }
  // An entry kept as it is needs its password, which metadata does not carry: read the Secret.
  if (listed && hosts.some((host) => !stale.includes(host) && entries.get(host)?.password === undefined)) {
    return passOnce(deps, { ...request, listed: undefined }, attempt);
  }
  const next = nextEntries(planned, await freshEntries(deps.tokens, stale), entries);
  const desired = buildSecret(namespace, deps.policy.secretName, next, existing);
  const written = await writeSecret(deps, desired, existing);
  deps.view.record(namespace, written.metadata);
  return { status: "refreshed", expiries: next, dropped, evicted };
}

/** Passes that lose a write race in a row before giving up (a rival writer, or a conflict storm). */
const MAX_CONFLICTS = 10;

/** Conflicts re-read at once (someone wrote in between); transient failures wait the backoff. */
function verdict(error: unknown): RetryVerdict {
  if (error instanceof EnsureError || error instanceof TokenError) return "fail";
  const failure = apiFailure(error);
  if (isConflict(failure) || isAlreadyExists(failure)) return "now";
  if (isNamespaceTerminating(failure) || !isRetryable(failure)) return "fail";
  return { waitMs: (failure.retryAfterSeconds ?? 0) * 1000 };
}

/** The pass with its retries; every failure comes out as an EnsureError with a reason. */
export async function reconcileSecret(deps: PassDeps, request: PassRequest): Promise<PassResult> {
  try {
    return await withRetry((attempt) => passOnce(deps, request, attempt), {
      ...deps.backoff,
      verdict,
      immediate: MAX_CONFLICTS - 1,
    });
  } catch (error) {
    throw asEnsureError(request.namespace.name, error);
  }
}
