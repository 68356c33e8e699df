import { inject } from "vitest";

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
}

declare module "vitest" {
  export interface ProvidedContext {
    e2e: E2eEnvironment;
  }
}

export const environment = (): E2eEnvironment => inject("e2e");
