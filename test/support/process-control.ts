/**
 * Processes the end-to-end suite starts detached and outliving the test process that started them
 * (the control plane's, the node's), so that every test file can reach them by pid.
 */
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** Starts `binary` detached, its stdout and stderr appended to `logFile`; returns its pid. */
export function launch(binary: string, args: readonly string[], logFile: string): number {
  const out = openSync(logFile, "a");
  const child = spawn(binary, args, { stdio: ["ignore", out, out], detached: true });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${binary}`);
  return child.pid;
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM, then SIGKILL if it is still there after `timeoutMs`. */
export async function terminate(pid: number | undefined, timeoutMs: number): Promise<void> {
  if (!pid || !alive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) process.kill(pid, "SIGKILL");
}
