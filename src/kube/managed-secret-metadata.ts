import type { V1ObjectMeta, V1Secret } from "@kubernetes/client-node";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../policy/keys.js";

/**
 * Metadata of a Secret ecr-webhook writes: that of `existing` kept (resourceVersion makes the replace
 * optimistic; labels and annotations others added stay), marked as managed, `annotations` laid over,
 * and managedFields left to the API server.
 */
export function managedSecretMetadata(
  namespace: string,
  name: string,
  existing: V1Secret | undefined,
  annotations?: Record<string, string>,
): V1ObjectMeta {
  return {
    ...(existing?.metadata ?? {}),
    name,
    namespace,
    labels: { ...(existing?.metadata?.labels ?? {}), [LABEL_MANAGED_BY]: MANAGED_BY },
    ...(annotations ? { annotations: { ...(existing?.metadata?.annotations ?? {}), ...annotations } } : {}),
    managedFields: undefined,
  };
}
