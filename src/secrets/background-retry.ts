import type { Logger } from "../log/logger.js";

/**
 * After a failed ensure the webhook has already admitted the pod with the reference; its Secret is
 * then retried in the background so that the pod can pull as soon as AWS or the API server recovers,
 * without waiting for another pod in the namespace or the next rotation cycle.
 */
export interface BackgroundRetrySettings {
  readonly firstMs: number;
  readonly capMs: number;
  /** Past this, retries stop; rotation and the next pod's review remain. */
  readonly giveUpAfterMs: number;
}

// kubelet retries a failed pull with back-off up to 5 min; retrying as often keeps pace with it.
export const DEFAULT_RETRY: BackgroundRetrySettings = {
  firstMs: 5_000,
  capMs: 300_000,
  giveUpAfterMs: 3_600_000,
};

export interface BackgroundRetries {
  /** Schedules (or widens) the retry of a namespace's hosts. */
  schedule(namespace: string, hosts: readonly string[]): void;
  /** Hosts just ensured need no retry; the retry ends when none is left. */
  settle(namespace: string, hosts: readonly string[]): void;
  cancel(namespace: string): void;
  close(): void;
}

interface Pending {
  readonly hosts: Set<string>;
  attempt: number;
  /** Date.now() of the first failure: retries are paced in real time, whatever clock tests inject. */
  readonly since: number;
  timer?: NodeJS.Timeout;
}

export function backgroundRetries(
  settings: BackgroundRetrySettings,
  logger: Logger,
  retry: (namespace: string, hosts: string[]) => Promise<unknown>,
): BackgroundRetries {
  const pending = new Map<string, Pending>();
  const cancel = (namespace: string) => {
    clearTimeout(pending.get(namespace)?.timer);
    pending.delete(namespace);
  };
  return {
    schedule(namespace, hosts) {
      const existing = pending.get(namespace);
      if (existing) {
        hosts.forEach((h) => existing.hosts.add(h));
        if (existing.timer) return;
      }
      const entry = existing ?? { hosts: new Set(hosts), attempt: 0, since: Date.now() };
      if (Date.now() - entry.since >= settings.giveUpAfterMs) {
        logger.warn(
          { namespace },
          "pull Secret still not ensured; background retries stop until the next pod or rotation",
        );
        pending.delete(namespace);
        return;
      }
      const delay = Math.min(settings.capMs, settings.firstMs * 2 ** entry.attempt++);
      // Unreferenced: a pending retry must not keep a stopping process alive.
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        logger.info({ namespace, attempt: entry.attempt }, "retrying pull Secret in the background");
        void retry(namespace, [...entry.hosts]);
      }, delay).unref();
      pending.set(namespace, entry);
    },
    settle(namespace, hosts) {
      const entry = pending.get(namespace);
      if (!entry) return;
      hosts.forEach((h) => entry.hosts.delete(h));
      if (entry.hosts.size === 0) cancel(namespace);
    },
    cancel,
    close() {
      for (const namespace of [...pending.keys()]) cancel(namespace);
    },
  };
}
