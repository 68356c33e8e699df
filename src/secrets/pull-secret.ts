import type { V1Secret } from "@kubernetes/client-node";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../admission/annotations.js";
import { managedSecretMetadata } from "../kube/managed-secret-metadata.js";

/** Annotation holding `{ "<registry host>": "<ISO expiry>" }` for every entry of the Secret. */
export const ANNOTATION_EXPIRIES = "ecr-webhook.io/expiries";
export const DOCKER_CONFIG_KEY = ".dockerconfigjson";
export const DOCKER_CONFIG_TYPE = "kubernetes.io/dockerconfigjson";

export interface RegistryEntry {
  readonly password: string;
  readonly expiresAt: Date;
}

/** The Secret's content as plain data: registry host → login. */
export type Entries = ReadonlyMap<string, RegistryEntry>;

export function isManaged(secret: V1Secret): boolean {
  return secret.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;
}

/** Hosts whose entries are missing or have less than `minTtlMs` left at `now`. */
export function staleHosts(
  entries: Entries,
  hosts: readonly string[],
  now: number,
  minTtlMs: number,
): string[] {
  return hosts.filter((host) => {
    const entry = entries.get(host);
    return !entry || entry.expiresAt.getTime() - now < minTtlMs;
  });
}

interface DockerConfig {
  auths?: Record<string, { username?: string; password?: string; auth?: string }>;
}

/**
 * Reads the entries of a managed Secret. An entry with no recorded expiry counts as expired, so
 * anything the webhook cannot vouch for is refreshed rather than trusted.
 */
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

export function readEntries(secret: V1Secret): Map<string, RegistryEntry> {
  const entries = new Map<string, RegistryEntry>();
  const raw = secret.data?.[DOCKER_CONFIG_KEY];
  if (!raw) return entries;
  // Anything unreadable (bad base64 or JSON, `null`, an array) counts as no entries: the Secret is
  // ours, so the next write replaces it with a good one instead of failing every review.
  const config = asObject(parseJson(Buffer.from(raw, "base64").toString("utf8")));
  const expiries = asObject(parseJson(secret.metadata?.annotations?.[ANNOTATION_EXPIRIES] ?? "{}"));
  for (const [host, login] of Object.entries(asObject(config.auths))) {
    const expiry = expiries[host];
    const expiresAt = new Date(typeof expiry === "string" ? expiry : 0);
    const password = asObject(login).password;
    if (typeof password === "string") {
      entries.set(host, {
        password,
        expiresAt: Number.isNaN(expiresAt.getTime()) ? new Date(0) : expiresAt,
      });
    }
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
  for (const [host, entry] of [...entries].sort(([a], [b]) => a.localeCompare(b))) {
    auths[host] = {
      username: "AWS",
      password: entry.password,
      auth: Buffer.from(`AWS:${entry.password}`).toString("base64"),
    };
    expiries[host] = entry.expiresAt.toISOString();
  }
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: DOCKER_CONFIG_TYPE,
    metadata: managedSecretMetadata(namespace, name, existing, {
      [ANNOTATION_EXPIRIES]: JSON.stringify(expiries),
    }),
    data: { [DOCKER_CONFIG_KEY]: Buffer.from(JSON.stringify({ auths })).toString("base64") },
  };
}

/** `existing` with `fresh` laid over it: entries never disappear, they are only replaced. */
export function mergeEntries(existing: Entries, fresh: Entries): Map<string, RegistryEntry> {
  return new Map([...existing, ...fresh]);
}
