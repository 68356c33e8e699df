import { describe, expect, it } from "vitest";
import { isDue, replaceAt } from "../../src/ecr/token-freshness.js";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-29T06:00:00Z");
const at = (hours: number) => new Date(T0 + hours * HOUR);

describe("when a token is replaced", () => {
  it.each([
    // lifetime, TTL, replaced this long before expiry
    ["a regular 12h token, 6h TTL", { issuedAt: at(0), expiresAt: at(12) }, 6 * HOUR, 6 * HOUR],
    ["a 12h token, 1h TTL", { issuedAt: at(0), expiresAt: at(12) }, 1 * HOUR, 1 * HOUR],
    [
      "a 1h token, 6h TTL: halfway through its life",
      { issuedAt: at(0), expiresAt: at(1) },
      6 * HOUR,
      0.5 * HOUR,
    ],
    ["no issue time recorded: ECR's 12h assumed", { expiresAt: at(12) }, 6 * HOUR, 6 * HOUR],
    [
      "expiry before issue (a clock far ahead): at expiry",
      { issuedAt: at(2), expiresAt: at(1) },
      6 * HOUR,
      0,
    ],
  ])("%s", (_what, token, ttl, before) => {
    expect(token.expiresAt.getTime() - replaceAt(token, ttl)).toBe(before);
    expect(isDue(token, replaceAt(token, ttl) - 1, ttl)).toBe(false);
    expect(isDue(token, replaceAt(token, ttl), ttl)).toBe(true);
  });

  it("a token fresh from ECR is never due, whatever its lifetime", () => {
    for (const minutes of [1, 30, 90, 720]) {
      const token = { issuedAt: at(0), expiresAt: new Date(T0 + minutes * 60_000) };
      expect(isDue(token, T0, 6 * HOUR)).toBe(false);
    }
  });
});
