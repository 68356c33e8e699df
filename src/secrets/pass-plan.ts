import type { AdmissionPolicy } from "../config/config.js";
import { defaultRegistry } from "../policy/default-registry.js";
import type { NamespaceMeta } from "../policy/namespace.js";
import { boundHosts, recheckHosts } from "../policy/secret-entries.js";
import { staleHosts, type RecordedEntry, type RegistryEntry } from "./pull-secret.js";

/** The rules a plan follows, and the clock that says which tokens are due. */
export interface PlanRules {
  readonly policy: AdmissionPolicy;
  readonly minTokenTtlMs: number;
  readonly now: () => number;
}

export interface PlanInput {
  readonly namespace: NamespaceMeta;
  /** Hosts the Secret must hold after the pass, already checked against the rules. */
  readonly wanted: readonly string[];
  /** When a pod last asked for each host, as this process saw it (epoch ms; 0 when never). */
  readonly lastAsked: (host: string) => number;
  /** What the Secret holds now. */
  readonly entries: ReadonlyMap<string, RecordedEntry>;
}

/**
 * What the Secret holds after the pass (pure): every entry re-checked against the rules as they are
 * now, at most --max-registries (what was asked for least recently goes), and which of them are due.
 */
export function plan(rules: PlanRules, input: PlanInput) {
  const { entries, wanted } = input;
  const { kept, dropped } = recheckHosts(entries.keys(), input.namespace, rules.policy);
  const asked = (host: string) => Math.max(input.lastAsked(host), entries.get(host)?.requestedAt ?? 0);
  const own = defaultRegistry(rules.policy)?.host;
  const protect = new Set([...wanted, ...(own && entries.has(own) ? [own] : [])]);
  const bounded = boundHosts([...wanted, ...kept], protect, asked, rules.policy.maxRegistries);
  const stale = staleHosts(entries, bounded.kept, rules.now(), rules.minTokenTtlMs);
  return { hosts: bounded.kept, evicted: bounded.evicted, dropped, stale, asked };
}

/**
 * The entries written: a fresh one for each host that was due, the others as they were, each
 * with when it was last asked for (when it ever was).
 */
export function nextEntries(
  planned: Pick<ReturnType<typeof plan>, "hosts" | "asked">,
  fresh: ReadonlyMap<string, RegistryEntry>,
  entries: ReadonlyMap<string, RecordedEntry>,
): Map<string, RegistryEntry> {
  return new Map(
    planned.hosts.map((host) => {
      const entry = fresh.get(host) ?? (entries.get(host) as RegistryEntry);
      const requestedAt = planned.asked(host);
      return [host, requestedAt > 0 ? { ...entry, requestedAt } : entry];
    }),
  );
}
