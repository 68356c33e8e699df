/**
 * The product as it ships: the esbuild bundle (dist/ecr-webhook.mjs) run by node with the container
 * image's flags, configured only through its command line and environment, pointed at the stand-ins.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { webhookProcessEnv } from "../../test/support/aws-env.js";
import { CLI_BUNDLE } from "../../test/support/shipped-cli.js";
import type { StandIns } from "../procs/standins.js";
import { standInKubeConfig } from "./kube.js";
import { RUNTIME_FLAGS } from "./runtime-flags.js";
import type { WorkDir } from "./workdir.js";

export { CLI_BUNDLE };

/** A clean environment: the stand-ins' endpoints, dummy credentials, no instance-metadata lookups. */
export function cliEnv(work: WorkDir, standIns: StandIns): NodeJS.ProcessEnv {
  const kubeconfig = work.file(`kubeconfig-${new URL(standIns.kubeUrl).port}.json`);
  writeFileSync(kubeconfig, standInKubeConfig(standIns.kubeUrl, standIns.kubeToken).exportConfig(), {
    mode: 0o600,
  });
  return webhookProcessEnv(kubeconfig, standIns.awsEndpoints);
}

/**
 * Runs `node <flags> dist/ecr-webhook.mjs <args>` (by default the image's flags); stdout (JSON
 * logs, reports) goes to `outFile`.
 */
export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  outFile: string,
  nodeFlags: readonly string[] = RUNTIME_FLAGS,
): ChildProcess {
  const out = openSync(outFile, "w");
  try {
    return spawn(process.execPath, [...nodeFlags, CLI_BUNDLE, ...args], {
      env,
      stdio: ["ignore", out, "inherit"],
    });
  } finally {
    closeSync(out);
  }
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}
