import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { ConfigError } from "../config/config.js";
import { PooledKubeConfig } from "./pooled-kube-config.js";

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * KUBECONFIG (or ~/.kube/config) when present, else the in-cluster ServiceAccount. With neither,
 * one sentence that says what to set, instead of the client's silent fallback to localhost:8080.
 * Every client made from it shares one keep-alive connection pool.
 */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new PooledKubeConfig();
  const kubeconfigPaths = (env.KUBECONFIG ?? "").split(":").filter(Boolean);
  const defaultPath = join(homedir(), ".kube", "config");
  if (
    kubeconfigPaths.some((p) => existsSync(p)) ||
    (kubeconfigPaths.length === 0 && existsSync(defaultPath))
  ) {
    kc.loadFromDefault();
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
  } else {
    throw new ConfigError(
      "No Kubernetes configuration found: set KUBECONFIG to a kubeconfig file, or run inside a cluster with a ServiceAccount.",
    );
  }
  if (!kc.getCurrentCluster()) {
    throw new ConfigError(
      `The kubeconfig has no current cluster: set a current-context (kubectl config use-context <name>).`,
    );
  }
  return kc;
}
