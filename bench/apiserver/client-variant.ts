/** The Kubernetes clients a rotation cycle can be run with (bench/procs/rotation-client.ts). */
export const CLIENT_VARIANTS = [
  /** client-node's KubeConfig and generated CoreV1Api, nothing of the webhook's own. */
  "typed",
  /** The webhook's connection pool under the generated CoreV1Api. */
  "pooled",
  /** The pool and the JSON client, as the product runs. */
  "shipped",
] as const;
export type ClientVariant = (typeof CLIENT_VARIANTS)[number];
