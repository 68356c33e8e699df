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
  delete(namespace: string, name: string): Promise<void>;
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
    async delete(namespace, name) {
      try {
        await api.deleteNamespacedSecret({ namespace, name }, withTimeout());
      } catch (error) {
        if (!isNotFound(apiFailure(error))) throw error;
      }
    },
  };
}
