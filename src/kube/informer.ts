import type { Informer, KubernetesObject, ObjectCache } from "@kubernetes/client-node";
import type { Logger } from "../log/logger.js";
import { backoffDelay } from "../util/backoff.js";
import { apiFailure } from "./api-errors.js";

export interface KeptInformer {
  /** True once a list has come in without an error. */
  readonly synced: () => boolean;
  /** False from a failure until the next successful start: the cache may be missing changes. */
  readonly healthy: () => boolean;
  readonly start: () => Promise<void>;
  readonly stop: () => Promise<void>;
}

/**
 * Keeps a client-node informer running. It relists by itself after a 410 Gone and re-watches when a
 * watch ends; after any other failure (an API server restart, a refused request) it emits "error"
 * and stops, so it is restarted here with backoff, resuming from its last resourceVersion.
 */
export function keepInformerRunning<T extends KubernetesObject>(
  informer: Informer<T> & ObjectCache<T>,
  options: { what: string; logger: Logger; retryBaseMs?: number },
): KeptInformer {
  const backoff = { baseMs: options.retryBaseMs ?? 500, capMs: 30_000, attempts: Infinity };
  let synced = false;
  let healthy = false;
  let stopped = false;
  let failures = 0; // consecutive, for backoff
  let errorCount = 0; // ever, to tell whether a start succeeded
  let restartTimer: NodeJS.Timeout | undefined;

  const working = () => (failures = 0);
  for (const verb of ["add", "update", "delete"] as const) informer.on(verb, working);
  informer.on("error", (error: unknown) => {
    if (stopped) return;
    errorCount += 1;
    healthy = false;
    // Half the capped exponential delay is fixed, so that a restart never spins.
    const delay = Math.round(backoff.baseMs / 2 + backoffDelay(backoff, Math.min(failures++, 6)));
    options.logger.warn(
      { err: apiFailure(error).message, retryInMs: delay },
      `${options.what} watch failed; restarting`,
    );
    restartTimer = setTimeout(() => void run(), delay);
    restartTimer.unref();
  });

  // The informer reports a failed list through "error", not by rejecting: synced only if none came.
  const run = async () => {
    const before = errorCount;
    try {
      await informer.start();
    } catch (error) {
      options.logger.warn({ err: apiFailure(error).message }, `${options.what} watch start failed`);
      return;
    }
    if (errorCount === before) {
      synced = true;
      healthy = true;
      failures = 0;
    }
  };

  return {
    synced: () => synced,
    healthy: () => healthy,
    async start() {
      stopped = false;
      await run();
    },
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      await informer.stop();
    },
  };
}
