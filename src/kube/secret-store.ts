import type { KubeConfig, V1Secret, V1SecretList } from "@kubernetes/client-node";
import { apiFailure, isNotFound } from "./api-errors.js";
import { jsonClient } from "./json-client.js";
import { METADATA_LIST } from "./pull-secret-watch.js";
import { LIST_PAGE_SIZE, listPages } from "./list-pages.js";
import { LIST_TIMEOUT_MS } from "./request-options.js";

/**
 * The webhook's only access to Secrets: its own Secret, by name. Its only list and watch are of that
 * name too (see pull-secret-watch), so RBAC can restrict every verb but create to that one name.
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
  /**
   * The metadata (labels, annotations, resourceVersion; no data) of every Secret of this name in the
   * cluster, a page at a time: a list whose field selector names it, which is what RBAC grants by
   * resourceNames. One small request per 500 namespaces instead of one GET each.
   */
  listNamed(name: string): AsyncIterable<V1Secret[]>;
}

const path = (namespace: string, name?: string) =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets${name ? `/${encodeURIComponent(name)}` : ""}`;

/** Over plain JSON requests: once per namespace per cycle, the hot path of rotation (json-client). */
export function kubeSecretStore(kc: KubeConfig): SecretStore {
  const api = jsonClient(kc);
  return {
    async read(namespace, name) {
      try {
        return await api.request<V1Secret>("GET", path(namespace, name));
      } catch (error) {
        if (isNotFound(apiFailure(error))) return undefined;
        throw error;
      }
    },
    create: (secret) => api.request<V1Secret>("POST", path(secret.metadata!.namespace!), secret),
    replace: (secret) =>
      api.request<V1Secret>("PUT", path(secret.metadata!.namespace!, secret.metadata!.name), secret),
    listNamed: (name) =>
      listPages(async (next) => {
        const query = new URLSearchParams({
          fieldSelector: `metadata.name=${name}`,
          limit: String(LIST_PAGE_SIZE),
        });
        if (next) query.set("continue", next);
        const page = await api.request<V1SecretList>(
          "GET",
          `/api/v1/secrets?${query.toString()}`,
          undefined,
          {
            timeoutMs: LIST_TIMEOUT_MS,
            accept: METADATA_LIST,
          },
        );
        // Raw JSON: the field is `continue` (the generated types call it `_continue`).
        return { items: page.items, next: (page.metadata as { continue?: string } | undefined)?.continue };
      }),
    async delete(secret) {
      const { namespace = "", name = "", uid, resourceVersion } = secret.metadata ?? {};
      try {
        await api.request("DELETE", path(namespace, name), { preconditions: { uid, resourceVersion } });
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
