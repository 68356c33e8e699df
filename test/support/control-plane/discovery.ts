/**
 * Where the end-to-end suite finds a Kubernetes control plane, in the order controller-runtime's
 * envtest looks: KUBEBUILDER_ASSETS, then setup-envtest's cache; else a disposable cluster named by
 * ECR_WEBHOOK_E2E_KUBECONFIG. An etcd beside kube-apiserver is used first, else the one on PATH
 * (Debian's etcd-server). Nothing is downloaded or built here.
 */
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

export interface Binaries {
  readonly dir: string;
  readonly etcd: string;
  readonly apiServer: string;
  /** Optional: without it, no namespace, ServiceAccount, Deployment or ReplicaSet controller runs. */
  readonly controllerManager?: string;
}

export type Discovery =
  | { readonly kind: "binaries"; readonly binaries: Binaries; readonly from: string }
  | { readonly kind: "cluster"; readonly kubeconfig: string; readonly from: string }
  | { readonly kind: "none"; readonly lookedAt: readonly string[] };

export const CLUSTER_ENV = "ECR_WEBHOOK_E2E_KUBECONFIG";

function etcdOnPath(path = process.env.PATH ?? ""): string | undefined {
  return path
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, "etcd"))
    .find((file) => existsSync(file));
}

function binariesIn(dir: string): Binaries | undefined {
  const at = (name: string) => (existsSync(join(dir, name)) ? join(dir, name) : undefined);
  const etcd = at("etcd") ?? etcdOnPath();
  const apiServer = at("kube-apiserver");
  if (!etcd || !apiServer) return undefined;
  return { dir, etcd, apiServer, controllerManager: at("kube-controller-manager") };
}

/** setup-envtest's cache, newest version first (directory names are `<version>-<os>-<arch>`). */
function envtestCacheDirs(home: string): string[] {
  const root = join(home, ".local", "share", "kubebuilder-envtest", "k8s");
  if (!existsSync(root)) return [];
  const version = (name: string) => name.split("-")[0]!.split(".").map(Number);
  return readdirSync(root)
    .filter((name) => name.endsWith(`-linux-${process.arch === "arm64" ? "arm64" : "amd64"}`))
    .sort((a, b) => {
      const [x, y] = [version(a), version(b)];
      for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (y[i] ?? 0) - (x[i] ?? 0);
      return 0;
    })
    .map((name) => join(root, name));
}

export function discover(env: NodeJS.ProcessEnv = process.env, home = homedir()): Discovery {
  const lookedAt: string[] = [];
  const assets = env.KUBEBUILDER_ASSETS;
  if (assets) {
    const found = binariesIn(assets);
    if (found) return { kind: "binaries", binaries: found, from: `KUBEBUILDER_ASSETS=${assets}` };
    lookedAt.push(`KUBEBUILDER_ASSETS=${assets} (no kube-apiserver there, or no etcd there or on PATH)`);
  } else {
    lookedAt.push("KUBEBUILDER_ASSETS (unset)");
  }
  const cacheRoot = join(home, ".local", "share", "kubebuilder-envtest", "k8s");
  for (const dir of envtestCacheDirs(home)) {
    const found = binariesIn(dir);
    if (found) return { kind: "binaries", binaries: found, from: dir };
  }
  lookedAt.push(`${cacheRoot}/*-linux-* (no kube-apiserver, or no etcd there or on PATH)`);
  const kubeconfig = env[CLUSTER_ENV];
  if (kubeconfig && existsSync(kubeconfig)) return { kind: "cluster", kubeconfig, from: CLUSTER_ENV };
  lookedAt.push(kubeconfig ? `${CLUSTER_ENV}=${kubeconfig} (no such file)` : `${CLUSTER_ENV} (unset)`);
  return { kind: "none", lookedAt };
}
