import type { V1ObjectMeta, V1Secret } from "@kubernetes/client-node";
import { isDue, type TokenTimes } from "../ecr/token-freshness.js";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../policy/keys.js";
import { managedSecretMetadata } from "../kube/managed-secret-metadata.js";

/** Annotation holding `{ "<registry host>": "<ISO expiry>" }` for every entry of the Secret. */
export const ANNOTATION_EXPIRIES = "ecr-webhook.io/expiries";
/**
 * Annotation holding `{ "<registry host>": "<ISO time the token was obtained>" }`: with the expiry it
 * gives each token's own lifetime (see token-freshness). Secrets written before it existed lack it.
 */
export const ANNOTATION_ISSUED = "ecr-webhook.io/issued";
/**
 * Annotation holding `{ "<registry host>": "<ISO time a pod last asked for it>" }`, as far as the
 * writing replica knew: when the Secret is full, the entries asked for least recently go first.
 */
export const ANNOTATION_REQUESTED = "ecr-webhook.io/requested";
export const DOCKER_CONFIG_KEY = ".dockerconfigjson";
export const DOCKER_CONFIG_TYPE = "kubernetes.io/dockerconfigjson";

export interface RegistryEntry extends TokenTimes {
  readonly password: string;
  /** When a pod last asked for this registry (epoch ms), as far as the writer knew. */
  readonly requestedAt?: number;
}

/** The Secret's content as plain data: registry host → login. */
export type Entries = ReadonlyMap<string, RegistryEntry>;

/** What the annotations tell of each entry, without reading (or holding) any password. */
export type Expiries = ReadonlyMap<string, TokenTimes>;

export function isManaged(secret: Pick<V1Secret, "metadata">): boolean {
  return secret.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;
}

/** Hosts whose entries are missing or due for replacement at `now`. */
export function staleHosts(
  entries: Expiries,
  hosts: readonly string[],
  now: number,
  minTtlMs: number,
): string[] {
  return hosts.filter((host) => {
    const entry = entries.get(host);
    return !entry || isDue(entry, now, minTtlMs);
  });
}

interface DockerConfig {
  auths?: Record<string, { username?: string; password?: string; auth?: string }>;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const asObject = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

const dateOr = (value: unknown, fallback: Date | undefined): Date | undefined => {
  const date = typeof value === "string" ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : fallback;
};

/**
 * Each entry's times, from the annotations alone. An entry with no readable expiry counts as expired,
 * so anything the webhook cannot vouch for is refreshed rather than trusted.
 */
export function readExpiries(metadata: V1ObjectMeta | undefined): Map<string, TokenTimes> {
  const expiries = asObject(parseJson(metadata?.annotations?.[ANNOTATION_EXPIRIES] ?? "{}"));
  const issued = asObject(parseJson(metadata?.annotations?.[ANNOTATION_ISSUED] ?? "{}"));
  const times = new Map<string, TokenTimes>();
  for (const host of Object.keys(expiries)) {
    const issuedAt = dateOr(issued[host], undefined);
    times.set(host, { expiresAt: dateOr(expiries[host], new Date(0))!, ...(issuedAt ? { issuedAt } : {}) });
  }
  return times;
}

/** When a pod last asked for each host, as the Secret records it (epoch ms; absent: never). */
function readRequested(metadata: V1ObjectMeta | undefined): Map<string, number> {
  const requested = asObject(parseJson(metadata?.annotations?.[ANNOTATION_REQUESTED] ?? "{}"));
  const times = new Map<string, number>();
  for (const [host, value] of Object.entries(requested)) {
    const at = dateOr(value, undefined);
    if (at) times.set(host, at.getTime());
  }
  return times;
}

/** An entry as far as the metadata tells (a metadata-only list): its times, not its password. */
export type RecordedEntry = TokenTimes & { readonly requestedAt?: number; readonly password?: string };

/** Every entry the annotations record, without reading (or holding) any password. */
export function readRecorded(metadata: V1ObjectMeta | undefined): Map<string, RecordedEntry> {
  const requested = readRequested(metadata);
  const entries = new Map<string, RecordedEntry>();
  for (const [host, times] of readExpiries(metadata)) {
    const requestedAt = requested.get(host);
    entries.set(host, { ...times, ...(requestedAt !== undefined ? { requestedAt } : {}) });
  }
  return entries;
}

export function readEntries(secret: V1Secret): Map<string, RegistryEntry> {
  const entries = new Map<string, RegistryEntry>();
  const raw = secret.data?.[DOCKER_CONFIG_KEY];
  if (!raw) return entries;
  // Anything unreadable (bad base64 or JSON, `null`, an array) counts as no entries: the Secret is
  // ours, so the next write replaces it with a good one instead of failing every review.
  const config = asObject(parseJson(Buffer.from(raw, "base64").toString("utf8")));
  const times = readExpiries(secret.metadata);
  const requested = readRequested(secret.metadata);
  for (const [host, login] of Object.entries(asObject(config.auths))) {
    const password = asObject(login).password;
    if (typeof password !== "string") continue;
    const requestedAt = requested.get(host);
    entries.set(host, {
      password,
      ...(times.get(host) ?? { expiresAt: new Date(0) }),
      ...(requestedAt !== undefined ? { requestedAt } : {}),
    });
  }
  return entries;
}

/**
 * The desired Secret for `entries`, keeping the metadata of `existing` (resourceVersion for the
 * optimistic update, and any labels or annotations others added).
 */
export function buildSecret(
  namespace: string,
  name: string,
  entries: Entries,
  existing?: V1Secret,
): V1Secret {
  const auths: NonNullable<DockerConfig["auths"]> = {};
  const expiries: Record<string, string> = {};
  const issued: Record<string, string> = {};
  const asked: Record<string, string> = {};
  for (const [host, entry] of [...entries].sort(([a], [b]) => a.localeCompare(b))) {
    auths[host] = {
      username: "AWS",
      password: entry.password,
      auth: Buffer.from(`AWS:${entry.password}`).toString("base64"),
    };
    expiries[host] = entry.expiresAt.toISOString();
    if (entry.issuedAt) issued[host] = entry.issuedAt.toISOString();
    if (entry.requestedAt !== undefined) asked[host] = new Date(entry.requestedAt).toISOString();
  }
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: DOCKER_CONFIG_TYPE,
    metadata: managedSecretMetadata(namespace, name, existing, {
      [ANNOTATION_EXPIRIES]: JSON.stringify(expiries),
      [ANNOTATION_ISSUED]: JSON.stringify(issued),
      [ANNOTATION_REQUESTED]: JSON.stringify(asked),
    }),
    data: { [DOCKER_CONFIG_KEY]: Buffer.from(JSON.stringify({ auths })).toString("base64") },
  };
}

/** `existing` with `fresh` laid over it: entries never disappear, they are only replaced. */
export function mergeEntries(existing: Entries, fresh: Entries): Map<string, RegistryEntry> {
  return new Map([...existing, ...fresh]);
}
