/** Capped exponential backoff with full jitter: spreads retries of many callers apart. */
export interface Backoff {
  readonly baseMs: number;
  readonly capMs: number;
  readonly attempts: number;
}

export function backoffDelay(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(backoff.capMs, backoff.baseMs * 2 ** attempt));
}

/**
 * A referenced timer on purpose: a one-shot command waiting out a retry must not be taken for an idle
 * process and exit before it has finished.
 */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * What to do after a failed attempt: give up, try again at once (the failure said the view was stale,
 * e.g. a 409 Conflict, and the next attempt re-reads), or wait the backoff (at least `waitMs`, e.g. a
 * Retry-After).
 */
export type RetryVerdict = "fail" | "now" | { readonly waitMs?: number };

/**
 * The one retry loop of the code base: runs `call` until it succeeds or `verdict` says "fail". Waited
 * retries stop once `attempts` attempts have been made; immediate ones (after a conflict) once
 * `immediate` of them have been; either way the last error is thrown.
 */
export async function withRetry<T>(
  call: (attempt: number) => Promise<T>,
  options: Backoff & { verdict: (error: unknown) => RetryVerdict; immediate?: number },
): Promise<T> {
  let waited = 0;
  let immediate = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(attempt);
    } catch (error) {
      const verdict = options.verdict(error);
      if (verdict === "fail") throw error;
      if (verdict === "now") {
        if (++immediate > (options.immediate ?? 0)) throw error;
        continue;
      }
      if (++waited >= options.attempts) throw error;
      await sleep(Math.max(backoffDelay(options, waited - 1), verdict.waitMs ?? 0));
    }
  }
}

/** For the common case: retry with backoff while `retryable` says so. */
export const retryWhile =
  (retryable: (error: unknown) => boolean, waitFor?: (error: unknown) => number | undefined) =>
  (error: unknown): RetryVerdict =>
    retryable(error) ? { waitMs: waitFor?.(error) } : "fail";
