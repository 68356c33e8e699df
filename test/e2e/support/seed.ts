import { buildSecret } from "../../../src/secrets/pull-secret.js";
import type { TestCluster } from "./cluster.js";
import { SECRET } from "./suite.js";

/**
 * A managed Secret as an earlier webhook process left it, with entries that expire at `expiresAt`
 * (in the past: stale), written by the admin with the product's own builder.
 */
export async function seedManagedSecret(
  cluster: TestCluster,
  namespace: string,
  hosts: readonly string[],
  expiresAt: Date,
): Promise<void> {
  const entries = new Map(hosts.map((host) => [host, { password: `old-${host}`, expiresAt }]));
  const body = buildSecret(namespace, SECRET, entries);
  try {
    await cluster.core.createNamespacedSecret({ namespace, body });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
    const current = await cluster.core.readNamespacedSecret({ namespace, name: SECRET });
    await cluster.core.replaceNamespacedSecret({
      namespace,
      name: SECRET,
      body: buildSecret(namespace, SECRET, entries, current),
    });
  }
}

export const HOUR_MS = 3_600_000;
