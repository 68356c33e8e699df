/**
 * One real node for the suite, started by the global setup after the control plane: containerd with
 * its own root, state, socket and CNI configuration, a bridge network that routes nowhere, a pause
 * image built here, Debian's docker-registry on loopback holding the test image, and a kubelet
 * registered with the test API server. Pods reach it by `spec.nodeName` (no scheduler runs).
 *
 * Everything lives in one directory; teardown stops what was started (by pid), unmounts what the
 * node mounted under it, and removes it.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { mkdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { issueServingBundle } from "../../../../src/tls/issue.js";
import { freePort } from "../../../support/free-port.js";
import { alive, launch, terminate } from "../../../support/process-control.js";
import { atLeast, type NodePieces } from "./discovery.js";
import { APP_CMD, buildBusyboxImage, PAUSE_ENTRYPOINT } from "./images.js";

const run = promisify(execFile);

export const NODE_NAME = "ecr-webhook-e2e-node";
export const SANDBOX_IMAGE = "localhost/ecr-webhook-e2e/pause:1";
/** The one repository the registry holds; the front serves it under any path that ends in `/app`. */
export const BACKEND_REPOSITORY = "e2e/app";
export const APP_TAG = "1";
/** The pods' bridge: a private subnet with no gateway and no route off the namespace. */
const POD_SUBNET = "10.213.0.0/24";
/** The kubelet refuses a loopback node address: one of its own on a portless bridge, routed nowhere. */
const NODE_ADDRESS = "10.213.255.1";
const NODE_LINK = "ecre2e0";

/** What the tests need of the node; written to the node directory for the teardown too. */
export interface NodeState {
  readonly dir: string;
  readonly name: string;
  readonly kubeletVersion: string;
  readonly containerdVersion: string;
  readonly runcVersion: string;
  readonly registryVersion: string;
  readonly containerdSocket: string;
  readonly ctr: string;
  /** containerd's registry `config_path`: a registry front writes `<host>/hosts.toml` here. */
  readonly certsDir: string;
  /** docker-registry, plain HTTP on loopback. */
  readonly registryUrl: string;
  /** Feature gates the kubelet was started with (from ECR_WEBHOOK_E2E_KUBELET_FEATURE_GATES). */
  readonly featureGates: Record<string, boolean>;
  readonly kubeletLog: string;
  readonly startedInMs: number;
  pids: { containerd?: number; registry?: number; kubelet?: number };
}

const stateFile = (dir: string) => join(dir, "node-state.json");
const save = (state: NodeState) => writeFileSync(stateFile(state.dir), JSON.stringify(state, null, 2));
export const loadNodeState = (dir: string): NodeState =>
  JSON.parse(readFileSync(stateFile(dir), "utf8")) as NodeState;

function containerdConfig(dir: string, pieces: NodePieces): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd-ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/containerd/opt"
[${cri}]
  sandbox_image = "${SANDBOX_IMAGE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "${pieces.runc}"
  [${cri}.cni]
    bin_dir = "${pieces.cniBin}"
    conf_dir = "${dir}/cni/net.d"
  [${cri}.registry]
    config_path = "${dir}/certs.d"
`;
}

function cniConfig(dir: string): string {
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "ecr-webhook-e2e",
      plugins: [
        {
          type: "bridge",
          bridge: "ecre2ebr0",
          isGateway: false,
          ipMasq: false,
          ipam: { type: "host-local", ranges: [[{ subnet: POD_SUBNET }]], dataDir: `${dir}/cni/ipam` },
        },
      ],
    },
    null,
    2,
  );
}

/** KubeletConfiguration for this kubelet version: only fields and gates it knows. */
function kubeletConfig(
  dir: string,
  pieces: NodePieces,
  ports: { port: number; healthz: number },
  featureGates: Record<string, boolean>,
): string {
  const v = pieces.kubeletVersion;
  const config: Record<string, unknown> = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // This machine mounts cgroup v1; 1.35 refuses it unless told otherwise.
    ...(atLeast(v, 1, 31) ? { failCgroupV1: false } : {}),
    cgroupDriver: "cgroupfs",
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    containerRuntimeEndpoint: `unix://${dir}/containerd.sock`,
    address: "127.0.0.1",
    port: ports.port,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: ports.healthz,
    tlsCertFile: `${dir}/kubelet/serving.crt`,
    tlsPrivateKeyFile: `${dir}/kubelet/serving.key`,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false } },
    authorization: { mode: "AlwaysAllow" },
    staticPodPath: "",
    failSwapOn: false,
    resolvConf: `${dir}/kubelet/resolv.conf`,
    clusterDNS: [],
    registerNode: true,
    localStorageCapacityIsolation: false,
    makeIPTablesUtilChains: false,
    // Nothing is evicted or collected while the suite runs.
    evictionHard: { "memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    imageMinimumGCAge: "24h",
    maxPods: 60,
    kubeAPIQPS: 50,
    kubeAPIBurst: 100,
    ...(atLeast(v, 1, 29) ? { podLogsDir: `${dir}/kubelet/pod-logs` } : {}),
    ...(Object.keys(featureGates).length > 0 ? { featureGates } : {}),
  };
  return JSON.stringify(config, null, 2);
}

/** ECR_WEBHOOK_E2E_KUBELET_FEATURE_GATES=A=false,B=true → { A: false, B: true }. */
export function featureGatesFrom(value: string | undefined): Record<string, boolean> {
  const gates: Record<string, boolean> = {};
  for (const pair of (value ?? "").split(",").filter(Boolean)) {
    const [name, on] = pair.split("=");
    if (name && (on === "true" || on === "false")) gates[name.trim()] = on === "true";
  }
  return gates;
}

const tail = (log: string) =>
  existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-25).join("\n") : "";

async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  log?: string,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  const end = log ? tail(log) : "";
  throw new Error(`${what}: not within ${timeoutMs} ms${end ? `; the log ends:\n${end}` : ""}`);
}

const firstLine = async (file: string, args: string[]) =>
  (await run(file, args, { timeout: 20_000 })).stdout.split("\n")[0]!.trim();

async function startContainerd(dir: string, pieces: NodePieces): Promise<number> {
  for (const sub of ["containerd", "cni/net.d", "cni/ipam", "certs.d", "images"]) {
    await mkdir(join(dir, sub), { recursive: true });
  }
  await writeFile(join(dir, "cni/net.d/10-ecr-webhook-e2e.conflist"), cniConfig(dir));
  await writeFile(join(dir, "containerd/config.toml"), containerdConfig(dir, pieces));
  const pid = launch(
    pieces.containerd,
    ["--config", join(dir, "containerd/config.toml")],
    join(dir, "containerd.log"),
  );
  await waitFor(
    "containerd serving",
    () =>
      run(pieces.ctr, ["-a", join(dir, "containerd.sock"), "version"], { timeout: 5_000 }).then(
        () => true,
        () => false,
      ),
    30_000,
    join(dir, "containerd.log"),
  );
  return pid;
}

async function importPause(dir: string, pieces: NodePieces): Promise<void> {
  const layout = join(dir, "images/pause");
  await buildBusyboxImage(pieces, { layout, tag: "1", entrypoint: PAUSE_ENTRYPOINT });
  const archive = join(dir, "images/pause.tar");
  await run("tar", ["-C", layout, "-cf", archive, "."]);
  const base = SANDBOX_IMAGE.slice(0, SANDBOX_IMAGE.lastIndexOf(":"));
  await run(
    pieces.ctr,
    ["-a", join(dir, "containerd.sock"), "-n", "k8s.io", "images", "import", "--base-name", base, archive],
    {
      timeout: 60_000,
    },
  );
}

async function startRegistry(dir: string, pieces: NodePieces): Promise<{ pid: number; url: string }> {
  const port = await freePort();
  const config = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${dir}/registry
http:
  addr: 127.0.0.1:${port}
`;
  await mkdir(join(dir, "registry"), { recursive: true });
  await writeFile(join(dir, "registry.yml"), config);
  const pid = launch(pieces.registry, ["serve", join(dir, "registry.yml")], join(dir, "registry.log"));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    "docker-registry serving",
    () =>
      fetch(`${url}/v2/`).then(
        (r) => r.ok,
        () => false,
      ),
    20_000,
    join(dir, "registry.log"),
  );
  return { pid, url };
}

async function pushTestImage(dir: string, pieces: NodePieces, registryUrl: string): Promise<void> {
  const layout = join(dir, "images/app");
  await buildBusyboxImage(pieces, { layout, tag: APP_TAG, cmd: APP_CMD });
  const policy = join(dir, "images/policy.json");
  await writeFile(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  const target = `docker://${new URL(registryUrl).host}/${BACKEND_REPOSITORY}:${APP_TAG}`;
  await run(
    pieces.skopeo,
    ["--policy", policy, "copy", "--dest-tls-verify=false", `oci:${layout}:${APP_TAG}`, target],
    {
      timeout: 60_000,
    },
  );
}

async function startKubelet(
  dir: string,
  pieces: NodePieces,
  adminKubeconfig: string,
  featureGates: Record<string, boolean>,
): Promise<number> {
  await mkdir(join(dir, "kubelet/root"), { recursive: true });
  const tls = await issueServingBundle({
    dnsNames: [NODE_NAME, "localhost"],
    ipAddresses: ["127.0.0.1", NODE_ADDRESS],
    validityDays: 7,
    now: new Date(),
    caCommonName: "e2e-kubelet-ca",
  });
  await writeFile(join(dir, "kubelet/serving.crt"), tls.serving.cert);
  await writeFile(join(dir, "kubelet/serving.key"), tls.serving.key, { mode: 0o600 });
  await writeFile(join(dir, "kubelet/resolv.conf"), "options ndots:1\n");
  const ports = { port: await freePort(), healthz: await freePort() };
  await writeFile(join(dir, "kubelet/config.json"), kubeletConfig(dir, pieces, ports, featureGates));
  // The node's own address, on a link of this namespace that routes nowhere.
  await run(pieces.ip, ["link", "add", NODE_LINK, "type", "bridge"]).catch(() => undefined);
  await run(pieces.ip, ["addr", "replace", `${NODE_ADDRESS}/32`, "dev", NODE_LINK]);
  await run(pieces.ip, ["link", "set", NODE_LINK, "up"]);
  return launch(
    pieces.kubelet,
    [
      `--config=${join(dir, "kubelet/config.json")}`,
      `--kubeconfig=${adminKubeconfig}`,
      `--root-dir=${join(dir, "kubelet/root")}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_ADDRESS}`,
      "--v=2",
    ],
    join(dir, "kubelet.log"),
  );
}

async function nodeReady(adminKubeconfig: string): Promise<boolean> {
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig);
  try {
    const node = await kc.makeApiClient(CoreV1Api).readNode({ name: NODE_NAME });
    return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  } catch {
    return false;
  }
}

/**
 * `ip netns exec` mounts a fresh /sys for the namespace, and the cgroup hierarchies under
 * /sys/fs/cgroup are not in it. The kubelet and runc need them: they are mounted again here, as
 * /proc/self/cgroup lists them, in this process tree's own mount namespace (the machine's is not
 * touched: `ip netns exec` made it a slave of the machine's).
 */
async function ensureCgroupMounts(): Promise<void> {
  const mounted = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => / - cgroup2? /.test(line) && (line.split(" ")[4] ?? "").startsWith("/sys/fs/cgroup"));
  if (mounted) return;
  const hierarchies = readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(":"))
    .map(([id = "", controllers = ""]) => ({ id: Number(id), controllers }));
  const v1 = hierarchies.filter((h) => h.id > 0 && h.controllers);
  const mount = async (type: string, options: string, point: string) => {
    await mkdir(point, { recursive: true });
    await run("mount", ["-t", type, ...(options ? ["-o", options] : []), type, point]);
  };
  if (v1.length === 0) return mount("cgroup2", "", "/sys/fs/cgroup");
  await run("mount", ["-t", "tmpfs", "-o", "mode=755", "cgroup_root", "/sys/fs/cgroup"]);
  for (const { controllers } of v1) {
    const named = controllers.startsWith("name=");
    const point = `/sys/fs/cgroup/${named ? controllers.slice(5) : controllers}`;
    await mount("cgroup", named ? `none,${controllers}` : controllers, point);
  }
  if (hierarchies.some((h) => h.id === 0)) await mount("cgroup2", "", "/sys/fs/cgroup/unified");
}

export async function startNode(
  pieces: NodePieces,
  dir: string,
  adminKubeconfig: string,
): Promise<NodeState> {
  const started = Date.now();
  await mkdir(dir, { recursive: true });
  const featureGates = featureGatesFrom(process.env.ECR_WEBHOOK_E2E_KUBELET_FEATURE_GATES);
  const state: NodeState = {
    dir,
    name: NODE_NAME,
    kubeletVersion: pieces.kubeletVersion,
    containerdVersion: (await firstLine(pieces.containerd, ["--version"])).split(" ")[2] ?? "",
    runcVersion: (await firstLine(pieces.runc, ["--version"])).replace(/^runc version /, ""),
    registryVersion: (await firstLine(pieces.registry, ["--version"])).split(" ")[2] ?? "",
    containerdSocket: join(dir, "containerd.sock"),
    ctr: pieces.ctr,
    certsDir: join(dir, "certs.d"),
    registryUrl: "",
    featureGates,
    kubeletLog: join(dir, "kubelet.log"),
    startedInMs: 0,
    pids: {},
  };
  save(state);
  await ensureCgroupMounts();
  state.pids.containerd = await startContainerd(dir, pieces);
  save(state);
  await importPause(dir, pieces);
  const registry = await startRegistry(dir, pieces);
  state.pids.registry = registry.pid;
  save(state);
  await pushTestImage(dir, pieces, registry.url);
  state.pids.kubelet = await startKubelet(dir, pieces, adminKubeconfig, featureGates);
  const done: NodeState = { ...state, registryUrl: registry.url, startedInMs: 0 };
  save(done);
  const kubelet = state.pids.kubelet;
  await waitFor(
    `node ${NODE_NAME} Ready`,
    () => {
      if (!alive(kubelet)) throw new Error(`the kubelet exited; its log ends:\n${tail(state.kubeletLog)}`);
      return nodeReady(adminKubeconfig);
    },
    90_000,
    state.kubeletLog,
  );
  const ready = { ...done, startedInMs: Date.now() - started };
  save(ready);
  return ready;
}

/** How long the kubelet, containerd and the registry get to stop before SIGKILL. */
const STOP_MS = 15_000;

/** containerd's shims for this node (they outlive containerd): found by the socket they serve. */
function shimsOf(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith("containerd-shim-runc-v2") && argv.includes(socket)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

export async function stopNode(dir: string): Promise<void> {
  if (!existsSync(stateFile(dir))) return;
  const state = loadNodeState(dir);
  await terminate(state.pids.kubelet, STOP_MS);
  // Each task deleted, not only killed: containerd then removes its cgroups too.
  let tasks: string[] = [];
  if (state.pids.containerd && alive(state.pids.containerd)) {
    const ctr = (...args: string[]) =>
      run(state.ctr, ["-a", state.containerdSocket, "-n", "k8s.io", ...args], { timeout: 20_000 });
    tasks = await ctr("tasks", "ls", "-q").then(
      (r) => r.stdout.split("\n").filter(Boolean),
      () => [],
    );
    for (const id of tasks) await ctr("tasks", "delete", "--force", id).catch(() => undefined);
  }
  await terminate(state.pids.containerd, STOP_MS);
  for (const pid of shimsOf(state.containerdSocket)) await terminate(pid, 5_000);
  await terminate(state.pids.registry, STOP_MS);
  for (const point of mountsUnder(dir)) await run("umount", ["-l", point]).catch(() => undefined);
  // What a task that could not be deleted left: its (empty) cgroup in every hierarchy.
  for (const hierarchy of existsSync("/sys/fs/cgroup") ? readdirSync("/sys/fs/cgroup") : []) {
    for (const id of tasks)
      await rmdir(join("/sys/fs/cgroup", hierarchy, "k8s.io", id)).catch(() => undefined);
  }
  await run("ip", ["link", "del", NODE_LINK]).catch(() => undefined);
  await run("ip", ["link", "del", "ecre2ebr0"]).catch(() => undefined);
}
