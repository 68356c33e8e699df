/**
 * Runs once per `npm run test:e2e`: finds a control plane (or says in one line what was looked for
 * and lets every case skip), builds the bundle the image ships, and starts etcd, kube-apiserver and
 * kube-controller-manager on loopback for all test files; then, when a kubelet and a container
 * runtime are at hand, a real node (or one line says which piece was missing).
 */
import { execFile, execFileSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { loadState, startControlPlane, stopControlPlane } from "../../support/control-plane/control-plane.js";
import { rbacReport } from "./rbac-report.js";
import { discover } from "../../support/control-plane/discovery.js";
import type { E2eEnvironment, E2eNode } from "./environment.js";
import { discoverNode } from "./node/discovery.js";
import { startNode, stopNode } from "./node/node.js";

const run = promisify(execFile);

let controlPlaneDir: string | undefined;
let runDir: string | undefined;
let nodeDir: string | undefined;

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
  const serverVersion = binaryVersion(found.binaries.apiServer);
  console.log(
    `e2e: starting etcd, kube-apiserver ${serverVersion ?? ""} and kube-controller-manager from ${found.from}`,
  );
  controlPlaneDir = join(dir, "control-plane");
  const state = await startControlPlane(found.binaries, controlPlaneDir);
  project.provide("e2e", {
    available: true,
    adminKubeconfig: state.adminKubeconfig,
    runDir: dir,
    controlPlaneDir,
    controllers: state.controllers,
    ...(serverVersion ? { serverVersion } : {}),
    node: await node(found.binaries.dir, state.adminKubeconfig),
  } satisfies E2eEnvironment);
}

/** `v1.36.2` of `kube-apiserver --version`, as 1.36.2. */
function binaryVersion(file: string): string | undefined {
  try {
    return /v(\d+\.\d+\.\d+)/.exec(execFileSync(file, ["--version"], { encoding: "utf8" }))?.[1];
  } catch {
    return undefined;
  }
}

/** The real node, when every piece is there; its directory is on disk (the kubelet measures it). */
async function node(binariesDir: string, adminKubeconfig: string): Promise<E2eNode> {
  const found = discoverNode(binariesDir);
  if (found.kind === "missing") {
    console.log(`e2e node: skipped, the node cases need ${found.missing}`);
    return { kind: "skipped", missing: found.missing };
  }
  nodeDir = mkdtempSync(join(tmpdir(), "ecr-webhook-e2e-node-"));
  try {
    const state = await startNode(found.pieces, nodeDir, adminKubeconfig);
    const gates = Object.entries(state.featureGates).map(([k, v]) => `${k}=${v}`);
    console.log(
      `e2e node: kubelet ${state.kubeletVersion}, containerd ${state.containerdVersion}, runc ${state.runcVersion}, ` +
        `docker-registry ${state.registryVersion}${gates.length ? `, feature gates ${gates.join(",")}` : ""}; ` +
        `Ready in ${(state.startedInMs / 1000).toFixed(1)} s`,
    );
    return { kind: "running", state };
  } catch (error) {
    console.log(`e2e node: failed to start: ${(error as Error).message}`);
    return { kind: "failed", error: (error as Error).message };
  }
}

export async function teardown(): Promise<void> {
  if (nodeDir) {
    await stopNode(nodeDir);
    if (!process.env.ECR_WEBHOOK_E2E_KEEP) rmSync(nodeDir, { recursive: true, force: true });
    else console.log(`e2e: kept ${nodeDir}`);
  }
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
