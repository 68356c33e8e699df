/**
 * Runs once per `npm run test:e2e`: finds a control plane (or says in one line what was looked for
 * and lets every case skip), builds the bundle the image ships, and starts etcd, kube-apiserver and
 * kube-controller-manager on loopback for all test files.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { loadState, startControlPlane, stopControlPlane } from "../../support/control-plane/control-plane.js";
import { rbacReport } from "./rbac-report.js";
import { discover } from "../../support/control-plane/discovery.js";
import type { E2eEnvironment } from "./environment.js";

const run = promisify(execFile);

let controlPlaneDir: string | undefined;
let runDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  const found = discover();
  if (found.kind === "none") {
    const environment: E2eEnvironment = { available: false, controllers: false };
    console.log(`e2e: skipped, no Kubernetes control plane found; looked at ${found.lookedAt.join("; ")}`);
    project.provide("e2e", environment);
    return;
  }
  await run("npm", ["run", "--silent", "bundle"], { timeout: 120_000 });
  const dir = mkdtempSync(join(existingShm() ?? tmpdir(), "ecr-webhook-e2e-"));
  runDir = dir;
  if (found.kind === "cluster") {
    console.log(`e2e: using the cluster of ${found.kubeconfig} (${found.from})`);
    project.provide("e2e", {
      available: true,
      adminKubeconfig: found.kubeconfig,
      runDir: dir,
      controllers: true,
    } satisfies E2eEnvironment);
    return;
  }
  console.log(`e2e: starting etcd, kube-apiserver and kube-controller-manager from ${found.from}`);
  controlPlaneDir = join(dir, "control-plane");
  const state = await startControlPlane(found.binaries, controlPlaneDir);
  project.provide("e2e", {
    available: true,
    adminKubeconfig: state.adminKubeconfig,
    runDir: dir,
    controlPlaneDir,
    controllers: state.controllers,
  } satisfies E2eEnvironment);
}

export async function teardown(): Promise<void> {
  if (controlPlaneDir) await report(controlPlaneDir);
  // etcd's data and the logs live in tmpfs: keep them only when asked to.
  if (runDir && !process.env.ECR_WEBHOOK_E2E_KEEP) rmSync(runDir, { recursive: true, force: true });
  else if (runDir) console.log(`e2e: kept ${runDir}`);
}

async function report(dir: string): Promise<void> {
  await stopControlPlane(dir);
  const state = loadState(dir);
  const findings = rbacReport(state.auditLog, state.apiServerStarts);
  if (findings.length === 0)
    console.log("e2e RBAC: every rule the shipped roles grant was used; nothing was refused");
  for (const line of findings) console.log(`e2e RBAC: ${line}`);
}

/** etcd and the audit log write a lot; tmpfs keeps fsync off the disk. */
function existingShm(): string | undefined {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return undefined;
  }
}
