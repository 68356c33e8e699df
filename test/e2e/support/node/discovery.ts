/**
 * What a real node needs, found without fetching or building anything: a kubelet beside the
 * kube-apiserver the suite uses, and Debian's containerd, runc, CNI plugins, docker-registry, umoci,
 * skopeo and busybox-static. The node runs only as root and inside a network namespace of the run's
 * own (`ip netns exec`), where its bridge and node address touch nothing of the machine's.
 */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface NodePieces {
  readonly kubelet: string;
  readonly kubeletVersion: string;
  readonly containerd: string;
  readonly ctr: string;
  readonly runc: string;
  /** The directory holding the bridge, host-local and loopback CNI plugins. */
  readonly cniBin: string;
  readonly registry: string;
  readonly umoci: string;
  readonly skopeo: string;
  /** A statically linked busybox: the only file of the pause and test images. */
  readonly busybox: string;
  readonly ip: string;
}

export type NodeDiscovery =
  | { readonly kind: "found"; readonly pieces: NodePieces }
  | { readonly kind: "missing"; readonly missing: string };

function onPath(name: string, extra: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), ...extra].filter(Boolean);
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      if (statSync(file).isFile()) return file;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** Whether an ELF executable asks for no program interpreter (PT_INTERP): statically linked. */
export function isStaticElf(file: string): boolean {
  const header = Buffer.alloc(4096);
  const fd = openSync(file, "r");
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2) return false;
  const phoff = Number(header.readBigUInt64LE(0x20));
  const phentsize = header.readUInt16LE(0x36);
  const phnum = header.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > header.length) return false;
    if (header.readUInt32LE(at) === 3) return false;
  }
  return true;
}

/**
 * Whether this process runs in a named network namespace (`ip netns add`, bound under /run/netns):
 * one a run made for itself, not the machine's own.
 */
export function inOwnNetworkNamespace(): boolean {
  try {
    const self = statSync("/proc/self/ns/net");
    return readdirSync("/run/netns").some((name) => {
      const bound = statSync(join("/run/netns", name));
      return bound.ino === self.ino && bound.dev === self.dev;
    });
  } catch {
    return false;
  }
}

const SBIN = ["/usr/sbin", "/sbin", "/usr/local/sbin"];
const CNI_DIRS = ["/usr/lib/cni", "/opt/cni/bin"];

/** `Kubernetes v1.36.2` → `1.36.2`. */
export function kubeletVersionOf(kubelet: string): string {
  const out = execFileSync(kubelet, ["--version"], { encoding: "utf8", timeout: 20_000 });
  const match = /v(\d+\.\d+\.\d+)/.exec(out);
  if (!match) throw new Error(`unreadable kubelet version: ${out.trim()}`);
  return match[1]!;
}

/** [major, minor] of a version such as 1.36.2. */
export function minorOf(version: string): [number, number] {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return [major, minor];
}

export const atLeast = (version: string, major: number, minor: number): boolean => {
  const [x, y] = minorOf(version);
  return x > major || (x === major && y >= minor);
};

export function discoverNode(apiServerDir: string | undefined): NodeDiscovery {
  const missing = (what: string): NodeDiscovery => ({ kind: "missing", missing: what });
  if (!apiServerDir)
    return missing("a kube-apiserver started by the suite (a kubelet is looked for beside it)");
  const kubelet = join(apiServerDir, "kubelet");
  if (!existsSync(kubelet)) return missing(`kubelet (none in ${apiServerDir})`);
  if (process.getuid?.() !== 0) return missing("root (containerd and the kubelet run as root)");
  if (!inOwnNetworkNamespace())
    return missing("a network namespace of its own (run the suite under `ip netns exec`)");
  const tools: Record<string, string | undefined> = {
    containerd: onPath("containerd"),
    "containerd-shim-runc-v2": onPath("containerd-shim-runc-v2"),
    ctr: onPath("ctr"),
    runc: onPath("runc", SBIN),
    "docker-registry (Debian's docker-registry)": onPath("docker-registry"),
    umoci: onPath("umoci"),
    skopeo: onPath("skopeo"),
    ip: onPath("ip", SBIN),
  };
  for (const [name, file] of Object.entries(tools)) if (!file) return missing(name);
  const cniBin = CNI_DIRS.find((dir) =>
    ["bridge", "host-local", "loopback"].every((plugin) => existsSync(join(dir, plugin))),
  );
  if (!cniBin) return missing(`CNI plugins bridge, host-local and loopback (in ${CNI_DIRS.join(" or ")})`);
  const busybox = ["/bin/busybox", "/usr/bin/busybox"].find((f) => existsSync(f) && isStaticElf(f));
  if (!busybox) return missing("a statically linked busybox (Debian's busybox-static)");
  let kubeletVersion: string;
  try {
    kubeletVersion = kubeletVersionOf(kubelet);
  } catch (error) {
    return missing(`a kubelet that runs (${(error as Error).message})`);
  }
  return {
    kind: "found",
    pieces: {
      kubelet,
      kubeletVersion,
      containerd: tools.containerd!,
      ctr: tools.ctr!,
      runc: tools.runc!,
      cniBin,
      registry: tools["docker-registry (Debian's docker-registry)"]!,
      umoci: tools.umoci!,
      skopeo: tools.skopeo!,
      busybox,
      ip: tools.ip!,
    },
  };
}
