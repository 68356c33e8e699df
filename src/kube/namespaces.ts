import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { apiListPages } from "./list-pages.js";
import { LIST_TIMEOUT_MS, withTimeout } from "./request-options.js";
import { namespaceEnabled, type NamespaceMeta } from "../policy/namespace.js";
import type { AdmissionPolicy } from "../config/config.js";
import { toNamespaceMeta } from "./namespace-cache.js";

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
    const pages = apiListPages((page) =>
      api.listNamespace({ labelSelector, ...page }, withTimeout(LIST_TIMEOUT_MS)),
    );
    for await (const page of pages) {
      for (const ns of page.map(toNamespaceMeta)) {
        if (namespaceEnabled(ns, policy) && !ns.terminating) names.push(ns);
      }
    }
    return names;
  };
}
