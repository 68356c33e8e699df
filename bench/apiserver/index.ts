/** Step 4 of `npm run bench`: the real API server, when the binaries are on this machine. */
import { freePort } from "../../test/support/free-port.js";
import type { WorkDir } from "../lib/workdir.js";
import { withRealCluster } from "./cluster.js";
import {
  coldNamespaces,
  podCreateLatency,
  realRotation,
  REAL,
  type AdmissionResult,
  type ColdResult,
  type RealRotationResult,
} from "./scenarios.js";

export type RealApiServerResult =
  | { skipped: string }
  | {
      kubernetes: string;
      settings: typeof REAL;
      admission: AdmissionResult;
      rotation: RealRotationResult;
      cold: ColdResult;
    }
  | { kubernetes: string; settings: typeof REAL; rotation: RealRotationResult };

export async function realApiServer(
  work: WorkDir,
  step: (text: string) => void,
): Promise<RealApiServerResult> {
  return withRealCluster(work, async (cluster, aws) => {
    const ports = async () => ({ port: await freePort(), metricsPort: await freePort() });
    if (process.env.BENCH_ONLY === "rotation") {
      step(`4b rotation of ${REAL.rotationNamespaces} namespaces: refresh, the PUT-only floor`);
      const rotation = await realRotation(work, cluster, aws, step);
      return { kubernetes: cluster.version, settings: REAL, rotation };
    }
    step(
      `4a pod creates through kube-apiserver ${cluster.version}: no webhook, the minimal one, ecr-webhook`,
    );
    const admission = await podCreateLatency(work, cluster, aws, await ports());
    step(
      `4b rotation of ${REAL.rotationNamespaces} namespaces: refresh, the PUT-only floor, the kubectl loop`,
    );
    const rotation = await realRotation(work, cluster, aws, step);
    step(`4c ${REAL.coldNamespaces} cold namespaces × ${REAL.podsPerCold} pods at once`);
    const cold = await coldNamespaces(work, cluster, aws, await ports());
    return { kubernetes: cluster.version, settings: REAL, admission, rotation, cold };
  });
}
