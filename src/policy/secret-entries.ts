import type { AdmissionPolicy } from "../config/config.js";
import { registryOfHost } from "../registry/ecr-registry.js";
import { refusal } from "./allow-lists.js";
import type { NamespaceMeta } from "./namespace.js";

export interface DroppedEntry {
  readonly host: string;
  readonly why: string;
}

/**
 * Which registries of a managed Secret the rules allow *now*. Run on every write: a Secret can hold
 * entries written under looser rules, or edited in by anyone who may write Secrets in the namespace;
 * none of them is refreshed once the rules say no, and anything that is not an ECR registry (or
 * public.ecr.aws without --ecr-public) goes too.
 */
export function recheckHosts(
  hosts: Iterable<string>,
  namespace: NamespaceMeta,
  policy: AdmissionPolicy,
): { kept: string[]; dropped: DroppedEntry[] } {
  const kept: string[] = [];
  const dropped: DroppedEntry[] = [];
  for (const host of hosts) {
    const registry = registryOfHost(host);
    const why = registry ? refusal(registry, namespace, policy) : "not a private ECR registry";
    if (why) dropped.push({ host, why });
    else kept.push(host);
  }
  return { kept, dropped };
}

/**
 * At most `max` hosts: the protected ones first (what this pass was asked for, the default
 * registry), then those requested most recently; the entries nobody asked for longest go first.
 * A Secret is one object of at most 1 MiB: a flood of pods naming other accounts must never push out
 * the namespace's own registries, nor make every later write fail.
 */
export function boundHosts(
  hosts: readonly string[],
  protect: ReadonlySet<string>,
  lastRequested: (host: string) => number,
  max: number,
): { kept: string[]; evicted: string[] } {
  const ranked = [...new Set(hosts)].sort((a, b) => {
    const [pa, pb] = [protect.has(a), protect.has(b)];
    if (pa !== pb) return pa ? -1 : 1;
    return lastRequested(b) - lastRequested(a) || a.localeCompare(b);
  });
  return { kept: ranked.slice(0, max), evicted: ranked.slice(max) };
}
