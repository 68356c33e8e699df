import { runRotationCycle, type RotationDeps } from "../../src/controller/rotation.js";
import { startAwsStandIn, type AwsStandIn } from "./aws/index.js";
import { useAwsEndpoints } from "./aws-env.js";
import { kubeConfigFor } from "./fault-stack.js";
import { testConfig } from "./fixtures.js";
import type { LogCapture } from "./harness.js";
import { startKubeApi, type KubeApiStandIn } from "./kube-api/index.js";
import { rotationDepsFor, type TestClock } from "./rotation-rig.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

export interface ProxiedRig {
  kube: KubeApiStandIn;
  aws: AwsStandIn;
  proxy: TcpProxy;
  logs: LogCapture;
  deps: RotationDeps;
  cycle(): ReturnType<typeof runRotationCycle>;
  close(): Promise<void>;
}

/**
 * Rotation wired as `serve` wires it (createCredentials, the label-selected namespace list), with the
 * short retry timings of test/support/rotation-rig.ts, but talking to the Kubernetes stand-in through
 * a restartable TCP proxy, so a test can restart "the API server" in the middle of a cycle.
 */
export async function startProxiedRig(clock: TestClock): Promise<ProxiedRig> {
  const kube = await startKubeApi({ historyLimit: 50_000 });
  const aws = await startAwsStandIn({ now: clock.now });
  const restore = useAwsEndpoints(aws);
  const proxy = await startTcpProxy(Number(new URL(kube.url).port));
  const kc = kubeConfigFor(kube, proxy.url);
  const { deps, logs } = rotationDepsFor(kc, testConfig([]), clock.now);
  return {
    kube,
    aws,
    proxy,
    logs,
    deps,
    cycle: () => runRotationCycle(deps),
    async close() {
      await proxy.close();
      await kube.close();
      await aws.close();
      restore();
    },
  };
}
