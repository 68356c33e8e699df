/**
 * Images made here from one file, a static busybox, with umoci: the pause image containerd runs as
 * every pod's sandbox, and the test image pods pull from the registry. Nothing is fetched.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Applets the images' commands use; each is a link to /bin/busybox. */
const APPLETS = ["sh", "sleep", "echo", "cat", "true"];

export interface ImageSpec {
  /** The OCI layout directory (created when absent) and the tag within it. */
  readonly layout: string;
  readonly tag: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
}

export async function buildBusyboxImage(tools: { umoci: string; busybox: string }, spec: ImageSpec) {
  const umoci = (...args: string[]) => run(tools.umoci, args, { timeout: 60_000 });
  const image = `${spec.layout}:${spec.tag}`;
  await umoci("init", "--layout", spec.layout).catch((error: { stderr?: string }) => {
    if (!/exist/i.test(error.stderr ?? "")) throw error;
  });
  await umoci("new", "--image", image);
  const bundle = `${spec.layout}.bundle-${spec.tag}`;
  await rm(bundle, { recursive: true, force: true });
  await umoci("unpack", "--image", image, bundle);
  const bin = join(bundle, "rootfs", "bin");
  await mkdir(bin, { recursive: true });
  await copyFile(tools.busybox, join(bin, "busybox"));
  for (const applet of APPLETS) await symlink("busybox", join(bin, applet));
  await umoci("repack", "--image", image, bundle);
  await rm(bundle, { recursive: true, force: true });
  const config = ["config", "--image", image, "--os", "linux", "--architecture", "amd64"];
  for (const part of spec.entrypoint ?? []) config.push("--config.entrypoint", part);
  for (const part of spec.cmd ?? []) config.push("--config.cmd", part);
  await umoci(...config);
  await umoci("gc", "--layout", spec.layout);
}

/** A pause process: sleeps until told to stop. */
export const PAUSE_ENTRYPOINT = [
  "/bin/sh",
  "-c",
  'trap "exit 0" TERM INT; while :; do sleep 3600 & wait; done',
] as const;

/** What test pods run unless they say otherwise: a line, then a long sleep. */
export const APP_CMD = ["/bin/sh", "-c", "echo ready; exec sleep 3600"] as const;
