/** Processes this suite started by pid and must stop: the control plane's, the node's. */
import { setTimeout as sleep } from "node:timers/promises";

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
