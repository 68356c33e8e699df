/**
 * The pull Secrets through client-node's generated CoreV1Api alone: what the webhook's JSON client
 * replaced, kept here so that the benchmark can measure the two side by side on a real API server.
 */
import { CoreV1Api, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { apiFailure, isNotFound } from "../../src/kube/api-errors.js";
import { LIST_PAGE_SIZE, listPages } from "../../src/kube/list-pages.js";
import { METADATA_LIST } from "../../src/kube/pull-secret-watch.js";
import type { SecretStore } from "../../src/kube/secret-store.js";

export function typedSecretStore(kc: KubeConfig): SecretStore {
  const api = kc.makeApiClient(CoreV1Api);
  const metadataOnly = setHeaderOptions("Accept", METADATA_LIST);
  const where = (secret: { metadata?: { namespace?: string; name?: string } }) => ({
    namespace: secret.metadata?.namespace ?? "",
    name: secret.metadata?.name ?? "",
  });
  return {
    async read(namespace, name) {
      try {
        return await api.readNamespacedSecret({ namespace, name });
      } catch (error) {
        if (isNotFound(apiFailure(error))) return undefined;
        throw error;
      }
    },
    create: (secret) => api.createNamespacedSecret({ namespace: where(secret).namespace, body: secret }),
    replace: (secret) => api.replaceNamespacedSecret({ ...where(secret), body: secret }),
    async delete(secret) {
      const { uid, resourceVersion } = secret.metadata ?? {};
      try {
        await api.deleteNamespacedSecret({
          ...where(secret),
          body: { preconditions: { uid, resourceVersion } },
        });
        return true;
      } catch (error) {
        const failure = apiFailure(error);
        if (isNotFound(failure) || failure.code === 409) return false;
        throw error;
      }
    },
    listNamed: (name) =>
      listPages(async (next) => {
        const page = await api.listSecretForAllNamespaces(
          { fieldSelector: `metadata.name=${name}`, limit: LIST_PAGE_SIZE, _continue: next },
          metadataOnly,
        );
        return { items: page.items, next: page.metadata?._continue };
      }),
  };
}
