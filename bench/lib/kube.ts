import { KubeConfig } from "@kubernetes/client-node";

/** A client config for the Kubernetes stand-in, as its own kubeConfig() builds it. */
export function standInKubeConfig(url: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "kube-api-stand-in", server: url, skipTLSVerify: true }],
    users: [{ name: "stand-in-user", token }],
    contexts: [{ name: "stand-in", cluster: "kube-api-stand-in", user: "stand-in-user" }],
    currentContext: "stand-in",
  });
  return kc;
}
