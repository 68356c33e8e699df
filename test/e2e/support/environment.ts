import { inject } from "vitest";
import type { NodeState } from "./node/node.js";

/** What the global setup found and started, handed to every test file. */
export interface E2eEnvironment {
  readonly available: boolean;
  readonly adminKubeconfig?: string;
  /** A scratch directory for this run (kubeconfigs, certificates, logs). */
  readonly runDir?: string;
  /** Set when the suite started the control plane itself (so it can restart the API server). */
  readonly controlPlaneDir?: string;
  /** Whether kube-controller-manager runs. */
  readonly controllers: boolean;
  /** The kube-apiserver's version (major.minor.patch), when the suite started it. */
  readonly serverVersion?: string;
  /** The real node: running, or why its cases do not run (missing pieces) or cannot (it failed). */
  readonly node?: E2eNode;
}

export type E2eNode =
  | { readonly kind: "running"; readonly state: NodeState }
  | { readonly kind: "skipped"; readonly missing: string }
  | { readonly kind: "failed"; readonly error: string };

declare module "vitest" {
  export interface ProvidedContext {
    e2e: E2eEnvironment;
  }
}

export const environment = (): E2eEnvironment => inject("e2e");

/**
 * Whether the API server is at least major.minor; a cluster the suite did not start counts as new
 * enough. Cases that need a newer server skip with `why`.
 */
export function serverAtLeast(major: number, minor: number): boolean {
  const version = environment().serverVersion;
  if (!version) return true;
  const [x = 0, y = 0] = version.split(".").map(Number);
  return x > major || (x === major && y >= minor);
}
