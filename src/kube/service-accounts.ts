import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ServiceAccount,
} from "@kubernetes/client-node";
import { withTimeout } from "./request-options.js";
import type { Operation } from "fast-json-patch";

export interface ServiceAccountStore {
  list(namespace: string): Promise<V1ServiceAccount[]>;
  read(namespace: string, name: string): Promise<V1ServiceAccount>;
  /** A JSON patch; callers include a `test` of resourceVersion so a stale view fails with 422. */
  patch(namespace: string, name: string, ops: readonly Operation[]): Promise<void>;
}

export function kubeServiceAccountStore(kc: KubeConfig): ServiceAccountStore {
  const api = kc.makeApiClient(CoreV1Api);
  const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch, withTimeout());
  return {
    list: async (namespace) => (await api.listNamespacedServiceAccount({ namespace }, withTimeout())).items,
    read: (namespace, name) => api.readNamespacedServiceAccount({ namespace, name }, withTimeout()),
    async patch(namespace, name, ops) {
      await api.patchNamespacedServiceAccount({ namespace, name, body: ops }, jsonPatch);
    },
  };
}
