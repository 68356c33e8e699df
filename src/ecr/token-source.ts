import type { AccountRole } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import { ECR_PUBLIC } from "../registry/ecr-registry.js";
import { createEcrLogins, type EcrLogin, type EcrToken } from "./ecr-login.js";
import { createTokenCalls, type TokenCallOptions } from "./token-calls.js";
import { isDue } from "./token-freshness.js";

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

/** The pacing, retries and metrics of the calls (token-calls.ts), and the cache's own settings. */
export interface TokenSourceOptions extends Omit<TokenCallOptions, "now"> {
  readonly minTokenTtlMs: number;
  readonly callTimeoutMs: number;
  readonly accountRoles: ReadonlyMap<string, AccountRole>;
  readonly logger: Logger;
  readonly now?: () => number;
  /**
   * After a key's retries are exhausted, callers fail fast for this long instead of starting new
   * retry chains: during an ECR outage, 10,000 namespaces must not mean 10,000 chains.
   */
  readonly failureHoldMs?: number;
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
  const heldFailures = new Map<string, { until: number; error: TokenError }>();
  const logins = createEcrLogins({ callTimeoutMs: options.callTimeoutMs, now });
  const calls = createTokenCalls({ ...options, now });

  /** The cached token for `key`, or one shared call (with retries) for it. */
  const tokenFor = (
    key: string,
    target: { identity: string; region: string; service: string },
    login: () => EcrLogin,
  ): Promise<EcrToken> => {
    const cached = tokens.get(key);
    if (cached && !isDue(cached, now(), options.minTokenTtlMs)) return Promise.resolve(cached);
    const held = heldFailures.get(key);
    if (held && held.until > now()) return Promise.reject(held.error);
    const running = pending.get(key);
    if (running) return running;
    const { identity, region, service } = target;
    const inFlight = calls
      .call(key, login())
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
    calls: calls.count,
    get(account, region) {
      const role = options.accountRoles.get(account);
      const identity = role ? role.roleArn : "default";
      return tokenFor(`${identity}|${region}`, { identity, region, service: "ECR" }, () =>
        logins.privateLogin(identity, region, role),
      );
    },
    getPublic() {
      const target = { identity: "default", region: ECR_PUBLIC.region, service: "ECR Public" };
      return tokenFor("default|ecr-public", target, () => logins.publicLogin);
    },
  };
}
