/** Capped exponential backoff with full jitter: spreads retries of many callers apart. */
export interface Backoff {
  readonly baseMs: number;
  readonly capMs: number;
  readonly attempts: number;
}

export function backoffDelay(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(backoff.capMs, backoff.baseMs * 2 ** attempt));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Runs `call` until it succeeds, `retryable` says no, or attempts run out; the last error is thrown.
 * `waitFor` lets the caller stretch a delay (e.g. to honour a Retry-After).
 */
export async function withRetry<T>(
  call: (attempt: number) => Promise<T>,
  options: Backoff & {
    retryable: (error: unknown) => boolean;
    waitFor?: (error: unknown) => number | undefined;
  },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(attempt);
    } catch (error) {
      if (attempt + 1 >= options.attempts || !options.retryable(error)) throw error;
      await sleep(Math.max(backoffDelay(options, attempt), options.waitFor?.(error) ?? 0));
    }
  }
}
