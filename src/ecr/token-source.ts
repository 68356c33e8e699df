import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import type { ECRPUBLICClient } from "@aws-sdk/client-ecr-public";
import type { AwsCredentialIdentityProvider } from "@aws-sdk/types";
import type { AccountRole } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import type { Metrics } from "../metrics/metrics.js";
import { ECR_PUBLIC } from "../registry/ecr-registry.js";
import { assumedRoleCredentials } from "./assumed-role.js";
import { retryWhile, sleep, withRetry, type Backoff } from "../util/backoff.js";
import { isDue } from "./token-freshness.js";

/** A registry login. `password` is a secret: it is written to Secrets and never logged. */
export interface EcrToken {
  readonly password: string;
  readonly expiresAt: Date;
  /** When this process obtained it, by its own clock. */
  readonly issuedAt: Date;
}

/**
 * A token could not be had even after retries. The message names region, identity (an IAM role ARN,
 * with --account-role) and cause: it is for the operator. What the namespace's users see is built
 * from `awsError` alone (see reconcile-pass).
 */
export class TokenError extends Error {
  override readonly name = "TokenError";
  constructor(
    message: string,
    /** The AWS error's name, e.g. AccessDeniedException: it never carries an ARN. */
    readonly awsError: string,
  ) {
    super(message);
  }
}

export interface TokenSource {
  /**
   * A token for `account`'s registries in `region`: the cached one until it is due for replacement
   * (see token-freshness), else a new one, which is used whatever validity it has.
   */
  get(account: string, region: string): Promise<EcrToken>;
  /**
   * A token for public.ecr.aws, from ECR Public's GetAuthorizationToken (us-east-1 only), as the
   * default identity: cached and shared exactly like the private ones.
   */
  getPublic(): Promise<EcrToken>;
  /** GetAuthorizationToken calls made so far (for the rotation summary). */
  readonly calls: () => number;
}

export interface TokenSourceOptions {
  readonly minTokenTtlMs: number;
  readonly callTimeoutMs: number;
  readonly accountRoles: ReadonlyMap<string, AccountRole>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  readonly backoff?: Backoff;
  /** Never call ECR for one key more often than this, whatever happens: ECR allows ~20/s. */
  readonly minCallIntervalMs?: number;
  /** How the interval is waited out; tests pass one that advances their clock instead. */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * After a key's retries are exhausted, callers fail fast for this long instead of starting new
   * retry chains: during an ECR outage, 10,000 namespaces must not mean 10,000 chains.
   */
  readonly failureHoldMs?: number;
}

/** What both GetAuthorizationToken APIs answer with, as far as a token needs it. */
interface AuthorizationData {
  readonly authorizationToken?: string;
  readonly expiresAt?: Date;
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

/**
 * One ECR token per (credentials identity, region), reused until it is due for replacement.
 * An ECR token opens every registry its identity may pull from in that region, so accounts without a
 * role mapping share the default identity's token. Concurrent needs for one key share one call.
 * public.ecr.aws has one more key, the default identity's ECR Public token.
 */
export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const now = options.now ?? Date.now;
  const tokens = new Map<string, EcrToken>();
  const pending = new Map<string, Promise<EcrToken>>();
  const lastCallAt = new Map<string, number>();
  const heldFailures = new Map<string, { until: number; error: TokenError }>();
  const clients = new Map<string, ECRClient>();
  const roleCredentials = new Map<string, AwsCredentialIdentityProvider>();
  let calls = 0;

  const clientFor = (identity: string, region: string, role: AccountRole | undefined): ECRClient => {
    const key = `${identity}|${region}`;
    let client = clients.get(key);
    if (!client) {
      let credentials: AwsCredentialIdentityProvider | undefined;
      if (role) {
        credentials =
          roleCredentials.get(key) ??
          assumedRoleCredentials(role, region, { timeoutMs: options.callTimeoutMs, now });
        roleCredentials.set(key, credentials);
      }
      // Retries are ours (below), so the SDK makes exactly one attempt per call.
      client = new ECRClient({
        region,
        credentials,
        maxAttempts: 1,
        requestHandler: { requestTimeout: options.callTimeoutMs, throwOnRequestTimeout: true },
      });
      clients.set(key, client);
    }
    return client;
  };

  const privateLogin = (client: ECRClient) => async (): Promise<AuthorizationData | undefined> => {
    const out = await client.send(new GetAuthorizationTokenCommand({}), {
      abortSignal: AbortSignal.timeout(options.callTimeoutMs),
    });
    return out.authorizationData?.[0];
  };

  let publicClient: ECRPUBLICClient | undefined;
  const publicLogin = async (): Promise<AuthorizationData | undefined> => {
    // Loaded on first use: only --ecr-public needs it.
    const { ECRPUBLICClient, GetAuthorizationTokenCommand } = await import("@aws-sdk/client-ecr-public");
    publicClient ??= new ECRPUBLICClient({
      region: ECR_PUBLIC.region,
      maxAttempts: 1,
      requestHandler: { requestTimeout: options.callTimeoutMs, throwOnRequestTimeout: true },
    });
    const out = await publicClient.send(new GetAuthorizationTokenCommand({}), {
      abortSignal: AbortSignal.timeout(options.callTimeoutMs),
    });
    return out.authorizationData;
  };

  const fetchToken = async (
    key: string,
    login: () => Promise<AuthorizationData | undefined>,
  ): Promise<EcrToken> => {
    const gap = (lastCallAt.get(key) ?? 0) + (options.minCallIntervalMs ?? 250) - now();
    if (gap > 0) await (options.sleep ?? sleep)(gap);
    lastCallAt.set(key, now());
    calls += 1;
    try {
      const data = await login();
      const decoded = Buffer.from(data?.authorizationToken ?? "", "base64").toString("utf8");
      const password = decoded.startsWith("AWS:") ? decoded.slice(4) : "";
      if (!password || !data?.expiresAt)
        throw new Error("ECR GetAuthorizationToken returned no usable token");
      options.metrics.tokenFetches.inc({ result: "success" });
      return { password, expiresAt: data.expiresAt, issuedAt: new Date(now()) };
    } catch (error) {
      options.metrics.tokenFetches.inc({ result: resultLabel(error) });
      throw error;
    }
  };

  /** The cached token for `key`, or one shared call (with retries) for it. */
  const tokenFor = (
    key: string,
    target: { identity: string; region: string; service: string },
    login: () => () => Promise<AuthorizationData | undefined>,
  ): Promise<EcrToken> => {
    const cached = tokens.get(key);
    if (cached && !isDue(cached, now(), options.minTokenTtlMs)) return Promise.resolve(cached);
    const held = heldFailures.get(key);
    if (held && held.until > now()) return Promise.reject(held.error);
    const running = pending.get(key);
    if (running) return running;
    const { identity, region, service } = target;
    const call = login();
    const inFlight = withRetry(() => fetchToken(key, call), {
      ...(options.backoff ?? DEFAULT_BACKOFF),
      verdict: retryWhile(isRetryable),
    })
      .then((token) => {
        tokens.set(key, token);
        heldFailures.delete(key);
        options.logger.info(
          { service, identity, region, expiresAt: token.expiresAt.toISOString() },
          "ECR token obtained",
        );
        return token;
      })
      .catch((error: unknown) => {
        const e = error as Error;
        options.logger.warn(
          { service, identity, region, error: e.name, message: e.message },
          "ECR token request failed",
        );
        const failure = new TokenError(
          `${service} GetAuthorizationToken for ${region} as ${identity} failed: ${e.name}: ${e.message}`,
          e.name,
        );
        heldFailures.set(key, { until: now() + (options.failureHoldMs ?? 10_000), error: failure });
        throw failure;
      })
      .finally(() => pending.delete(key));
    pending.set(key, inFlight);
    return inFlight;
  };

  return {
    calls: () => calls,
    get(account, region) {
      const role = options.accountRoles.get(account);
      const identity = role ? role.roleArn : "default";
      return tokenFor(`${identity}|${region}`, { identity, region, service: "ECR" }, () =>
        privateLogin(clientFor(identity, region, role)),
      );
    },
    getPublic() {
      const target = { identity: "default", region: ECR_PUBLIC.region, service: "ECR Public" };
      return tokenFor("default|ecr-public", target, () => publicLogin);
    },
  };
}
