import type { NamespaceMeta } from "../policy/namespace.js";
import type { EcrRegistry } from "../registry/ecr-registry.js";

/** Why a namespace's Secret could not be made ready; each becomes a warning, a metric and an Event. */
export type EnsureFailure = "unmanaged_secret" | "namespace_terminating" | "error";

export type EnsureResult =
  { readonly ok: true } | { readonly ok: false; readonly reason: EnsureFailure; readonly message: string };

/**
 * Makes sure a namespace's pull Secret holds a fresh entry for each registry. Implementations keep
 * retrying in the background after the caller stops waiting, so a slow AWS never costs a pod its
 * credentials, only its wait.
 */
export interface CredentialEnsurer {
  /** Answers at once, without a promise, when the Secret is known to be fresh (the warm path). */
  ensure(namespace: NamespaceMeta, registries: readonly EcrRegistry[]): EnsureResult | Promise<EnsureResult>;
}
