import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { LIST_TIMEOUT_MS, withTimeout } from "./request-options.js";
import { namespaceEnabled } from "../admission/decide.js";
import type { AdmissionPolicy } from "../config/config.js";
import { toNamespaceMeta } from "./namespace-cache.js";

/** Enabled, not excluded, not terminating: the namespaces rotation serves (one label-selected list). */
export function enabledNamespaceLister(kc: KubeConfig, policy: AdmissionPolicy): () => Promise<string[]> {
  const api = kc.makeApiClient(CoreV1Api);
  const labelSelector = `${policy.namespaceLabel.key}=${policy.namespaceLabel.value}`;
  return async () => {
    const list = await api.listNamespace({ labelSelector }, withTimeout(LIST_TIMEOUT_MS));
    return list.items
      .map(toNamespaceMeta)
      .filter((ns) => namespaceEnabled(ns, policy) && !ns.terminating)
      .map((ns) => ns.name);
  };
}
