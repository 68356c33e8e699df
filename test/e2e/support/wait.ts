import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `probe` until `done` says yes, for hooks (where `expect.poll` is not available). A probe that
 * throws counts as "not yet"; the last value or error is in the timeout's message.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (done(value)) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${String(last)})`);
    await sleep(200);
  }
}
