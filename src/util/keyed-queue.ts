/**
 * Runs work one piece at a time per key, in arrival order; different keys run side by side. A burst
 * of pods in one namespace thus causes one read and one write, not one each.
 */
export interface KeyedQueue {
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Resolves once nothing is queued under any key (tests, shutdown). */
  idle(): Promise<void>;
}

export function keyedQueue(): KeyedQueue {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run(key, work) {
      const run = (tails.get(key) ?? Promise.resolve()).then(work, work);
      const tail = run.catch(() => undefined);
      tails.set(key, tail);
      void tail.then(() => tails.get(key) === tail && tails.delete(key));
      return run;
    },
    async idle() {
      while (tails.size > 0) await Promise.all(tails.values());
    },
  };
}
