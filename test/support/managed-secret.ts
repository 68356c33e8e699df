import { buildSecret } from "../../src/secrets/pull-secret.js";

/**
 * A managed pull Secret exactly as another ecr-webhook replica would have written it: one entry
 * per host with the given password, all expiring at `expiresAt`.
 */
export function managedSecret(
  namespace: string,
  passwords: Record<string, string>,
  expiresAt: Date,
  name = "ecr-pull-secret",
) {
  const entries = new Map(
    Object.entries(passwords).map(([host, password]) => [host, { password, expiresAt }]),
  );
  return buildSecret(namespace, name, entries) as Record<string, unknown>;
}
