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
import { classifyImage, type EcrRegistry } from "../registry/ecr-registry.js";
import { withRetry, type Backoff, type RetryVerdict } from "../util/backoff.js";
import type { EnsureFailure } from "./credential-ensurer.js";
import {
  buildSecret,
  isManaged,
  mergeEntries,
  readEntries,
  staleHosts,
  type Expiries,
  type RegistryEntry,
} from "./pull-secret.js";

export interface PassDeps {
  readonly store: SecretStore;
  readonly tokens: TokenSource;
  readonly view: SecretMetadataView;
  readonly secretName: string;
  readonly minTokenTtlMs: number;
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly backoff: Backoff;
}

/** What a pass found or left: the Secret's entries (their times) after it. */
export interface PassResult {
  readonly status: "absent" | "fresh" | "refreshed";
  readonly expiries: Expiries;
}

/** A failure with the reason the admission warning, the metric and the Event name. */
export class EnsureError extends Error {
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

async function freshEntries(
  tokens: TokenSource,
  hosts: readonly string[],
): Promise<Map<string, RegistryEntry>> {
  const fresh = new Map<string, RegistryEntry>();
  await Promise.all(
    hosts.map(async (host) => {
      const registry = registryOfHost(host);
      if (!registry) return;
      const token = await tokens.get(registry.account, registry.region);
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

/**
 * One read-decide-write pass: read the Secret, refresh whatever of `wanted` and of its own entries
 * is due, write it back optimistically. What was read or written is recorded in the view.
 */
async function passOnce(deps: PassDeps, namespace: string, wanted: readonly string[]): Promise<PassResult> {
  const existing = await deps.store.read(namespace, deps.secretName);
  deps.view.record(namespace, existing?.metadata);
  if (!existing && wanted.length === 0) return { status: "absent", expiries: new Map() };
  if (existing && !isManaged(existing)) {
    throw new EnsureError(
      "unmanaged_secret",
      `Secret ${namespace}/${deps.secretName} exists and is not managed by ecr-webhook; it is left as is`,
    );
  }
  const entries = existing ? readEntries(existing) : new Map<string, RegistryEntry>();
  const hosts = [...new Set([...wanted, ...entries.keys()])].filter((h) => registryOfHost(h));
  const stale = staleHosts(entries, hosts, deps.now(), deps.minTokenTtlMs);
  if (stale.length === 0 && existing) return { status: "fresh", expiries: entries };
  const merged = mergeEntries(entries, await freshEntries(deps.tokens, stale));
  const written = await write(deps, buildSecret(namespace, deps.secretName, merged, existing), existing);
  deps.view.record(namespace, written.metadata);
  return { status: "refreshed", expiries: merged };
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
export async function reconcileSecret(
  deps: PassDeps,
  namespace: string,
  wanted: readonly string[],
): Promise<PassResult> {
  try {
    return await withRetry(() => passOnce(deps, namespace, wanted), {
      ...deps.backoff,
      verdict,
      immediate: MAX_CONFLICTS - 1,
    });
  } catch (error) {
    throw asEnsureError(namespace, error);
  }
}
