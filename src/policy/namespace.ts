import type { AdmissionPolicy } from "../config/config.js";
import { LABEL_EXCLUDE } from "./keys.js";

/** The only facts about a Namespace that the webhook's decisions read. */
export interface NamespaceMeta {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly terminating?: boolean;
}

/**
 * Where the handler gets namespace metadata: a watch-backed cache in `serve`, a map in tests. A value
 * already at hand is returned as is, not wrapped in a promise: the warm path of a review then needs
 * no timer and no promise.
 */
export interface NamespaceSource {
  get(name: string): NamespaceMeta | undefined | Promise<NamespaceMeta | undefined>;
}

export function inMemoryNamespaces(list: readonly NamespaceMeta[]): NamespaceSource {
  const byName = new Map(list.map((ns) => [ns.name, ns]));
  return { get: (name) => byName.get(name) };
}

/** Whether a namespace has opted in and is not one the webhook must never touch. */
export function namespaceEnabled(namespace: NamespaceMeta, policy: AdmissionPolicy): boolean {
  const { key, value } = policy.namespaceLabel;
  return (
    namespace.labels[key] === value &&
    !(LABEL_EXCLUDE in namespace.labels) &&
    !policy.excludeNamespaces.includes(namespace.name)
  );
}
