/**
 * How the benchmarks run the shipped webhook (test/support/webhook-process.ts): with the Node flags
 * measured (RUNTIME_FLAGS), its logs in a file of the work directory, pointed at the stand-ins.
 */
import { writeFileSync } from "node:fs";
import type { WebhookProcessOptions } from "../../test/support/webhook-process.js";
import type { StandIns } from "../procs/standins.js";
import { standInKubeConfig } from "./kube.js";
import { RUNTIME_FLAGS } from "./runtime-flags.js";
import type { WorkDir } from "./workdir.js";

export function standInOptions(
  work: WorkDir,
  standIns: StandIns,
  logFile: string,
  nodeFlags: readonly string[] = RUNTIME_FLAGS,
): WebhookProcessOptions {
  const kubeconfig = work.file(`kubeconfig-${new URL(standIns.kubeUrl).port}.json`);
  writeFileSync(kubeconfig, standInKubeConfig(standIns.kubeUrl, standIns.kubeToken).exportConfig(), {
    mode: 0o600,
  });
  return { kubeconfig, aws: { endpointEnv: () => standIns.awsEndpoints }, nodeFlags, logFile };
}
