import type { V1Secret } from "@kubernetes/client-node";
import { TokenError, type TokenSource } from "../ecr/token-source.js";
import { apiFailure, failureLabel } from "../kube/api-errors.js";
import type { SecretStore } from "../kube/secret-store.js";
import type { Metrics } from "../metrics/metrics.js";
import { registryOfHost } from "../registry/ecr-registry.js";
import { EnsureError } from "./ensure-error.js";
import type { RegistryEntry } from "./pull-secret.js";

/** A fresh entry for each host that is due, from the token source (shared across namespaces). */
export async function freshEntries(
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

/** Creates the Secret or replaces the one read (optimistically: its resourceVersion), counted. */
export async function writeSecret(
  deps: { readonly store: SecretStore; readonly metrics: Metrics },
  desired: V1Secret,
  existing: V1Secret | undefined,
): Promise<V1Secret> {
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
