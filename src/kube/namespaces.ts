import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { LIST_TIMEOUT_MS, withTimeout } from "./request-options.js";
import { namespaceEnabled, type NamespaceMeta } from "../policy/namespace.js";
import type { AdmissionPolicy } from "../config/config.js";
import { toNamespaceMeta } from "./namespace-cache.js";

/**
 * Namespaces per list page. Pages keep each response, and the objects the client builds from it,
 * small: one 10,000-namespace response cost the rotating process more memory than the rest of the
 * cycle. client-go's pager uses the same default.
 */
export const LIST_PAGE_SIZE = 500;

/**
 * Enabled, not excluded, not terminating: the namespaces rotation serves (a label-selected list,
 * read in pages; of each, only what the policy reads is kept).
 */
export function enabledNamespaceLister(
  kc: KubeConfig,
  policy: AdmissionPolicy,
): () => Promise<NamespaceMeta[]> {
  const api = kc.makeApiClient(CoreV1Api);
  const labelSelector = `${policy.namespaceLabel.key}=${policy.namespaceLabel.value}`;
  return async () => {
    const names: NamespaceMeta[] = [];
    let next: string | undefined;
    do {
      const list = await api.listNamespace(
        { labelSelector, limit: LIST_PAGE_SIZE, _continue: next },
        withTimeout(LIST_TIMEOUT_MS),
      );
      for (const ns of list.items.map(toNamespaceMeta)) {
        if (namespaceEnabled(ns, policy) && !ns.terminating) names.push(ns);
      }
      next = list.metadata?._continue || undefined;
    } while (next);
    return names;
  };
}
