/**
 * GetAuthorizationToken calls made the way ECR wants them: never more often than a minimum
 * interval for one key, retried with backoff on throttling and server errors, every attempt
 * counted by result.
 */
import type { Metrics } from "../metrics/metrics.js";
import { retryWhile, sleep, withRetry, type Backoff } from "../util/backoff.js";
import type { EcrLogin, EcrToken } from "./ecr-login.js";

export interface TokenCallOptions {
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly backoff?: Backoff;
  /** Never call ECR for one key more often than this, whatever happens: ECR allows ~20/s. */
  readonly minCallIntervalMs?: number;
  /** How the interval is waited out; tests pass one that advances their clock instead. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface TokenCalls {
  /** `login` for `key`, paced and retried; rejects with the last error once retries are spent. */
  call(key: string, login: EcrLogin): Promise<EcrToken>;
  /** GetAuthorizationToken calls made so far (for the rotation summary). */
  readonly count: () => number;
}

const DEFAULT_BACKOFF: Backoff = { baseMs: 250, capMs: 8_000, attempts: 5 };
const RETRYABLE = new Set([
  "ThrottlingException",
  // STS (AssumeRole for --account-role) names its throttling error differently.
  "Throttling",
  "ServerException",
  "TimeoutError",
  "AbortError",
  "RequestTimeout",
]);

function isRetryable(error: unknown): boolean {
  const e = error as {
    name?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
    code?: string;
  };
  const status = e.$metadata?.httpStatusCode;
  return (
    RETRYABLE.has(e.name ?? "") ||
    (status !== undefined && status >= 500) ||
    e.$retryable !== undefined ||
    e.code === "ECONNRESET" ||
    e.code === "ECONNREFUSED"
  );
}

function resultLabel(error: unknown): string {
  return (error as { name?: string }).name === "ThrottlingException" ? "throttled" : "error";
}

export function createTokenCalls(options: TokenCallOptions): TokenCalls {
  const { now } = options;
  const lastCallAt = new Map<string, number>();
  let calls = 0;

  const attempt = async (key: string, login: EcrLogin): Promise<EcrToken> => {
    const gap = (lastCallAt.get(key) ?? 0) + (options.minCallIntervalMs ?? 250) - now();
    if (gap > 0) await (options.sleep ?? sleep)(gap);
    lastCallAt.set(key, now());
    calls += 1;
    try {
      const token = await login();
      options.metrics.tokenFetches.inc({ result: "success" });
      return token;
    } catch (error) {
      options.metrics.tokenFetches.inc({ result: resultLabel(error) });
      throw error;
    }
  };

  return {
    count: () => calls,
    call: (key, login) =>
      withRetry(() => attempt(key, login), {
        ...(options.backoff ?? DEFAULT_BACKOFF),
        verdict: retryWhile(isRetryable),
      }),
  };
}
