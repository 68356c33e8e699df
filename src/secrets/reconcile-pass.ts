import type { V1Secret } from "@kubernetes/client-node";
import { TokenError, type TokenSource } from "../ecr/token-source.js";
import {
  apiFailure,
  failureLabel,
  isAlreadyExists,
  isConflict,
  isNamespaceTerminating,
  isRetryable,
} from "../kube/api-errors.js";
import type { SecretMetadataView } from "../kube/pull-secret-watch.js";
import type { SecretStore } from "../kube/secret-store.js";
import type { Metrics } from "../metrics/metrics.js";
import type { AdmissionPolicy } from "../config/config.js";
import { defaultRegistry } from "../policy/default-registry.js";
import type { NamespaceMeta } from "../policy/namespace.js";
import { boundHosts, recheckHosts, type DroppedEntry } from "../policy/secret-entries.js";
import { registryOfHost } from "../registry/ecr-registry.js";
import { withRetry, type Backoff, type RetryVerdict } from "../util/backoff.js";
import type { EnsureFailure } from "./credential-ensurer.js";
import {
  buildSecret,
  isManaged,
  readEntries,
  readRecorded,
  staleHosts,
  type RecordedEntry,
  type Expiries,
  type RegistryEntry,
} from "./pull-secret.js";

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

/** A failure with the reason the admission warning, the metric and the Event name. */
export class EnsureError extends Error {
  constructor(
    readonly reason: EnsureFailure,
    /** For the namespace's users (warnings, Events): names no IAM role. */
    message: string,
    /** For the operator (logs, `refresh`): everything known. */
    readonly detail: string = message,
  ) {
    super(message);
  }
}

async function freshEntries(
  tokens: TokenSource,
  hosts: readonly string[],
): Promise<Map<string, RegistryEntry>> {
  const fresh = new Map<string, RegistryEntry>();
  await Promise.all(
    hosts.map(async (host) => {
      const registry = registryOfHost(host);
      if (!registry) return;
      const issued = registry.public ? tokens.getPublic() : tokens.get(registry.account, registry.region);
      const token = await issued.catch((error: unknown) => {
        if (!(error instanceof TokenError)) throw error;
        // The namespace's users learn the account and region; the IAM role stays in the logs.
        const publicMessage = registry.public
          ? `no ECR Public token: ${error.awsError}`
          : `no ECR token for account ${registry.account} in ${registry.region}: ${error.awsError}`;
        throw new EnsureError("error", publicMessage, error.message);
      });
      fresh.set(host, { password: token.password, expiresAt: token.expiresAt, issuedAt: token.issuedAt });
    }),
  );
  return fresh;
}

async function write(deps: PassDeps, desired: V1Secret, existing: V1Secret | undefined): Promise<V1Secret> {
  const operation = existing ? "update" : "create";
  try {
    const written = await (existing ? deps.store.replace(desired) : deps.store.create(desired));
    deps.metrics.secretWrites.inc({ operation, result: "success" });
    return written;
  } catch (error) {
    deps.metrics.secretWrites.inc({ operation, result: failureLabel(apiFailure(error)) });
    throw error;
  }
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

/** The Secret a pass starts from, and its entries as far as they are known. */
async function startingPoint(deps: PassDeps, request: PassRequest, attempt: number) {
  const namespace = request.namespace.name;
  // A retry (after a conflict, say) always reads afresh.
  const listed = attempt === 0 ? request.listed : undefined;
  const existing = listed ?? (await deps.store.read(namespace, deps.policy.secretName));
  deps.view.record(namespace, existing?.metadata);
  if (existing && !isManaged(existing)) {
    throw new EnsureError(
      "unmanaged_secret",
      `Secret ${namespace}/${deps.policy.secretName} exists and is not managed by ecr-webhook; it is left as is`,
    );
  }
  // Listed (metadata only): the times the annotations record. Read: the data's entries, passwords too.
  let entries = new Map<string, RecordedEntry>();
  if (existing) entries = listed ? readRecorded(existing.metadata) : readEntries(existing);
  return { existing, listed: listed !== undefined, entries };
}

/**
 * What the Secret holds after the pass (pure): every entry re-checked against the rules as they are
 * now, at most --max-registries (what was asked for least recently goes), and which of them are due.
 */
function plan(
  deps: PassDeps,
  request: PassRequest,
  wanted: readonly string[],
  entries: ReadonlyMap<string, RecordedEntry>,
) {
  const { kept, dropped } = recheckHosts(entries.keys(), request.namespace, deps.policy);
  const asked = (host: string) => Math.max(request.lastAsked(host), entries.get(host)?.requestedAt ?? 0);
  const own = defaultRegistry(deps.policy)?.host;
  const protect = new Set([...wanted, ...(own && entries.has(own) ? [own] : [])]);
  const bounded = boundHosts([...wanted, ...kept], protect, asked, deps.policy.maxRegistries);
  const stale = staleHosts(entries, bounded.kept, deps.now(), deps.minTokenTtlMs);
  return { hosts: bounded.kept, evicted: bounded.evicted, dropped, stale, asked };
}

/**
 * One read-decide-write pass: read the Secret (or start from its listed metadata), plan, refresh
 * whatever is due, write it back optimistically. What was read or written is recorded in the view.
 */
async function passOnce(deps: PassDeps, request: PassRequest, attempt: number): Promise<PassResult> {
  const { name: namespace } = request.namespace;
  // What is asked for must pass the rules too (the default registry may be outside a namespace's).
  const wanted = recheckHosts(request.wanted, request.namespace, deps.policy).kept;
  const { existing, listed, entries } = await startingPoint(deps, request, attempt);
  if (!existing && wanted.length === 0)
    return { status: "absent", expiries: new Map(), dropped: [], evicted: [] };
  const { hosts, evicted, dropped, stale, asked } = plan(deps, request, wanted, entries);
  if (existing && stale.length === 0 && dropped.length === 0 && evicted.length === 0) {
    return { status: "fresh", expiries: entries, dropped, evicted };
  }
  // An entry kept as it is needs its password, which metadata does not carry: read the Secret.
  if (listed && hosts.some((host) => !stale.includes(host) && entries.get(host)?.password === undefined)) {
    return passOnce(deps, { ...request, listed: undefined }, attempt);
  }
  const fresh = await freshEntries(deps.tokens, stale);
  const next = new Map(
    hosts.map((host) => {
      const entry = fresh.get(host) ?? (entries.get(host) as RegistryEntry);
      const requestedAt = asked(host);
      return [host, requestedAt > 0 ? { ...entry, requestedAt } : entry];
    }),
  );
  const written = await write(deps, buildSecret(namespace, deps.policy.secretName, next, existing), existing);
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

function asEnsureError(namespace: string, error: unknown): EnsureError {
  if (error instanceof EnsureError) return error;
  // The token source has already retried; its failure is final for this pass.
  if (error instanceof TokenError) return new EnsureError("error", error.message);
  const failure = apiFailure(error);
  if (isNamespaceTerminating(failure))
    return new EnsureError("namespace_terminating", `namespace ${namespace} is terminating`);
  return new EnsureError("error", failure.message);
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
