import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { withTimeout } from "./request-options.js";
import { apiFailure, isNotFound } from "./api-errors.js";

/**
 * The webhook's only access to Secrets: its own Secret, by name. It never lists or watches Secrets,
 * so its RBAC can restrict every verb but create to that one name.
 */
export interface SecretStore {
  /** The Secret, or undefined when it does not exist; any other failure is thrown. */
  read(namespace: string, name: string): Promise<V1Secret | undefined>;
  create(secret: V1Secret): Promise<V1Secret>;
  /** Optimistic: fails with 409 Conflict when metadata.resourceVersion is stale. */
  replace(secret: V1Secret): Promise<V1Secret>;
  /**
   * Deletes the Secret exactly as it was read (uid and resourceVersion preconditions): one recreated
   * or changed by someone else in between is left alone. Resolves whether it was deleted.
   */
  delete(secret: V1Secret): Promise<boolean>;
}

export function kubeSecretStore(kc: KubeConfig): SecretStore {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    async read(namespace, name) {
      try {
        return await api.readNamespacedSecret({ namespace, name }, withTimeout());
      } catch (error) {
        if (isNotFound(apiFailure(error))) return undefined;
        throw error;
      }
    },
    create: (secret) =>
      api.createNamespacedSecret({ namespace: secret.metadata!.namespace!, body: secret }, withTimeout()),
    replace: (secret) =>
      api.replaceNamespacedSecret(
        {
          namespace: secret.metadata!.namespace!,
          name: secret.metadata!.name!,
          body: secret,
        },
        withTimeout(),
      ),
    async delete(secret) {
      const { namespace = "", name = "", uid, resourceVersion } = secret.metadata ?? {};
      try {
        await api.deleteNamespacedSecret(
          { namespace, name, body: { preconditions: { uid, resourceVersion } } },
          withTimeout(),
        );
        return true;
      } catch (error) {
        const failure = apiFailure(error);
        // 404: already gone; 409: a precondition failed, it is no longer the Secret that was read.
        if (isNotFound(failure) || failure.code === 409) return false;
        throw error;
      }
    },
  };
}
