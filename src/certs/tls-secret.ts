import type { V1Secret } from "@kubernetes/client-node";
import { managedSecretMetadata } from "../kube/managed-secret-metadata.js";
import type { ExistingPair } from "./certificate-decision.js";

export const TLS_SECRET_TYPE = "kubernetes.io/tls";

const decode = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");

/** The PEM parts of a TLS Secret (whatever its type: a wrong one is caught when writing). */
export function readPair(secret: V1Secret): ExistingPair {
  return {
    cert: decode(secret.data?.["tls.crt"]),
    key: decode(secret.data?.["tls.key"]),
    ca: decode(secret.data?.["ca.crt"]),
  };
}

/**
 * The Secret the webhook mounts: tls.crt and tls.key, plus ca.crt so the next run can tell which CA
 * signed the certificate. No CA private key: each issue makes a fresh CA, and the caBundle overlap
 * covers the hand-over. Metadata of `existing` is kept (resourceVersion makes the replace optimistic).
 */
export function buildTlsSecret(
  namespace: string,
  name: string,
  pair: { cert: string; key: string; ca: string },
  existing?: V1Secret,
): V1Secret {
  const base64 = (text: string) => Buffer.from(text).toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: TLS_SECRET_TYPE,
    metadata: managedSecretMetadata(namespace, name, existing),
    data: { "tls.crt": base64(pair.cert), "tls.key": base64(pair.key), "ca.crt": base64(pair.ca) },
  };
}
