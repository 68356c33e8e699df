/** ECR's documented token lifetime, assumed for entries that recorded no issue time. */
export const TOKEN_LIFETIME_MS = 12 * 3_600_000;

/** When a token was obtained (this machine's clock) and when it expires (AWS's). */
export interface TokenTimes {
  readonly expiresAt: Date;
  readonly issuedAt?: Date;
}

/**
 * When a token should be replaced: --min-token-ttl before it expires, or halfway through its own
 * lifetime if that is shorter. A token that lives less than the TTL (a shorter-lived token, or a
 * clock ahead of AWS's) is therefore still used for half its life instead of being fetched again
 * and again; a regular 12-hour token with the default 6h TTL is replaced 6 h before it expires.
 */
export function replaceAt(token: TokenTimes, minTtlMs: number): number {
  const expires = token.expiresAt.getTime();
  const lifetime = token.issuedAt ? Math.max(0, expires - token.issuedAt.getTime()) : TOKEN_LIFETIME_MS;
  return expires - Math.min(minTtlMs, lifetime / 2);
}

export const isDue = (token: TokenTimes, now: number, minTtlMs: number): boolean =>
  now >= replaceAt(token, minTtlMs);
