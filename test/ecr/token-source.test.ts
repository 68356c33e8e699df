import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTokenSource, type TokenSourceOptions } from "../../src/ecr/token-source.js";
import { silentLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { startAwsStandIn, type AwsStandIn } from "../support/aws/index.js";
import { useAwsEndpoints } from "../support/aws-env.js";

const HOUR = 3_600_000;
let aws: AwsStandIn;
let restoreEnv: () => void;

beforeAll(async () => {
  aws = await startAwsStandIn({
    roles: { "arn:aws:iam::210987654321:role/ecr-pull": { externalId: "ext-42" } },
  });
  restoreEnv = useAwsEndpoints(aws);
});
afterAll(async () => {
  restoreEnv();
  await aws.close();
});
afterEach(() => aws.reset());

function tokenSource(overrides: Partial<TokenSourceOptions> = {}) {
  return createTokenSource({
    minTokenTtlMs: 6 * HOUR,
    callTimeoutMs: 1_000,
    accountRoles: new Map(),
    logger: silentLogger(),
    metrics: createMetrics(),
    backoff: { baseMs: 10, capMs: 50, attempts: 4 },
    minCallIntervalMs: 0,
    failureHoldMs: 0,
    ...overrides,
  });
}

describe("ECR token source (through the SDK, against the stand-in)", () => {
  it("gets a 12-hour token and decodes its password", async () => {
    const token = await tokenSource().get("123456789012", "us-east-1");
    expect(token.password).toBe(aws.tokens[0]!.password);
    expect(token.expiresAt.getTime() - Date.now()).toBeGreaterThan(11.9 * HOUR);
    expect(aws.calls).toMatchObject([
      { service: "ecr", action: "GetAuthorizationToken", region: "us-east-1" },
    ]);
  });

  it("shares one call among concurrent needs, and reuses the token while fresh", async () => {
    const source = tokenSource();
    const tokens = await Promise.all(
      Array.from({ length: 50 }, () => source.get("123456789012", "us-east-1")),
    );
    await source.get("123456789012", "us-east-1");
    expect(new Set(tokens.map((t) => t.password)).size).toBe(1);
    expect(aws.count({ service: "ecr" })).toBe(1);
  });

  it("one token per (identity, region): accounts without a role share the default identity", async () => {
    const source = tokenSource();
    await Promise.all([
      source.get("123456789012", "us-east-1"),
      source.get("999999999999", "us-east-1"),
      source.get("123456789012", "eu-west-1"),
    ]);
    expect(aws.count({ service: "ecr", region: "us-east-1" })).toBe(1);
    expect(aws.count({ service: "ecr", region: "eu-west-1" })).toBe(1);
  });

  it("fetches again once less than the minimum TTL remains", async () => {
    let clock = Date.now();
    const source = tokenSource({ now: () => clock });
    await source.get("123456789012", "us-east-1");
    clock += 5 * HOUR;
    await source.get("123456789012", "us-east-1");
    expect(aws.count({ service: "ecr" })).toBe(1);
    clock += 1.5 * HOUR; // 5.5h left < 6h
    await source.get("123456789012", "us-east-1");
    expect(aws.count({ service: "ecr" })).toBe(2);
  });

  it("assumes the mapped role (with its external ID) for that account", async () => {
    const source = tokenSource({
      accountRoles: new Map([
        ["210987654321", { roleArn: "arn:aws:iam::210987654321:role/ecr-pull", externalId: "ext-42" }],
      ]),
    });
    await source.get("210987654321", "eu-west-1");
    expect(aws.count({ service: "sts", action: "AssumeRole" })).toBe(1);
    const ecrCall = aws.calls.find((c) => c.service === "ecr" && c.status === 200);
    expect(ecrCall?.account).toBe("210987654321");
    expect(ecrCall?.accessKeyId).toMatch(/^ASIA/);
  });

  it("a wrong external ID fails with a clear error", async () => {
    const source = tokenSource({
      accountRoles: new Map([
        ["210987654321", { roleArn: "arn:aws:iam::210987654321:role/ecr-pull", externalId: "wrong" }],
      ]),
    });
    await expect(source.get("210987654321", "eu-west-1")).rejects.toThrow(
      /ECR GetAuthorizationToken for eu-west-1 as arn:aws:iam::210987654321:role\/ecr-pull failed: AccessDenied/,
    );
  });

  it("retries throttling and 5xx with backoff", async () => {
    aws.throttleNext("GetAuthorizationToken", 2);
    aws.failNext("GetAuthorizationToken", 1, 500);
    const metrics = createMetrics();
    const token = await tokenSource({ metrics }).get("123456789012", "us-east-1");
    expect(token.password).toBeTruthy();
    expect(aws.count({ service: "ecr" })).toBe(4);
    const text = await metrics.registry.getSingleMetricAsString("ecr_webhook_token_fetches_total");
    expect(text).toContain('result="throttled"} 2');
    expect(text).toContain('result="error"} 1');
    expect(text).toContain('result="success"} 1');
  });

  it("times out a hanging call and gives up after the retries", async () => {
    aws.hang("GetAuthorizationToken", true);
    const source = tokenSource({ callTimeoutMs: 100, backoff: { baseMs: 10, capMs: 20, attempts: 2 } });
    await expect(source.get("123456789012", "us-east-1")).rejects.toThrow(
      /failed: (TimeoutError|AbortError)/,
    );
    aws.hang("GetAuthorizationToken", false);
  });

  it("never calls one key more often than the minimum interval", async () => {
    // One clock for the source and the stand-in, advanced only by the source's own waits: the gaps
    // measured are the ones the source kept, however busy the machine is.
    let clock = Date.now();
    const paced = await startAwsStandIn({ now: () => clock });
    const restore = useAwsEndpoints(paced);
    try {
      paced.throttleNext("GetAuthorizationToken", 3);
      const source = tokenSource({
        now: () => clock,
        sleep: (ms) => {
          clock += ms;
          return Promise.resolve();
        },
        minCallIntervalMs: 100,
        backoff: { baseMs: 1, capMs: 1, attempts: 5 },
      });
      await source.get("123456789012", "us-east-1");
      const ecr = paced.calls.filter((c) => c.service === "ecr");
      expect(ecr).toHaveLength(4);
      for (let i = 1; i < ecr.length; i++) expect(ecr[i]!.at - ecr[i - 1]!.at).toBeGreaterThanOrEqual(100);
    } finally {
      restore();
      await paced.close();
    }
  });

  it("uses a token shorter than the minimum TTL, and reuses it for half its own life", async () => {
    let clock = Date.now();
    const shortLived = await startAwsStandIn({ now: () => clock, tokenTtlMs: 1 * HOUR });
    const restore = useAwsEndpoints(shortLived);
    try {
      const source = tokenSource({ now: () => clock });
      const first = await source.get("123456789012", "us-east-1");
      expect(first.expiresAt.getTime() - clock).toBe(1 * HOUR);
      await Promise.all(Array.from({ length: 20 }, () => source.get("123456789012", "us-east-1")));
      clock += 29 * 60_000;
      expect((await source.get("123456789012", "us-east-1")).password).toBe(first.password);
      expect(shortLived.count({ service: "ecr" })).toBe(1);
      clock += 2 * 60_000; // past half of its hour
      expect((await source.get("123456789012", "us-east-1")).password).not.toBe(first.password);
      expect(shortLived.count({ service: "ecr" })).toBe(2);
    } finally {
      restore();
      await shortLived.close();
    }
  });

  it("after retries are exhausted, fails fast for the hold period instead of calling again", async () => {
    let clock = Date.now();
    aws.throttleNext("GetAuthorizationToken", 100);
    const source = tokenSource({
      now: () => clock,
      failureHoldMs: 10_000,
      backoff: { baseMs: 1, capMs: 1, attempts: 2 },
    });
    await expect(source.get("123456789012", "us-east-1")).rejects.toThrow(/ThrottlingException/);
    const calls = aws.count({ service: "ecr" });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        expect(source.get("123456789012", "us-east-1")).rejects.toThrow(/ThrottlingException/),
      ),
    );
    expect(aws.count({ service: "ecr" })).toBe(calls);
    aws.reset();
    clock += 10_001;
    expect((await source.get("123456789012", "us-east-1")).password).toBeTruthy();
  });
});

describe("ECR Public token source (through @aws-sdk/client-ecr-public, against the stand-in)", () => {
  it("asks ECR Public in us-east-1 as the default identity, once for concurrent needs", async () => {
    const source = tokenSource({
      accountRoles: new Map([["210987654321", { roleArn: "arn:aws:iam::210987654321:role/ecr-pull" }]]),
    });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => source.getPublic()));
    await source.getPublic();
    expect(new Set(tokens.map((t) => t.password))).toEqual(new Set([aws.tokens[0]!.password]));
    expect(aws.tokens[0]).toMatchObject({ public: true, accessKeyId: "AKIDTESTTESTTESTTEST" });
    expect(aws.calls).toMatchObject([
      { service: "ecr-public", action: "GetAuthorizationToken", region: "us-east-1", status: 200 },
    ]);
    expect(tokens[0]!.expiresAt.getTime() - Date.now()).toBeGreaterThan(11.9 * HOUR);
  });

  it("is a key of its own: private tokens for us-east-1 neither share nor replace it", async () => {
    const source = tokenSource();
    const [publicToken, privateToken] = await Promise.all([
      source.getPublic(),
      source.get("123456789012", "us-east-1"),
    ]);
    expect(publicToken.password).not.toBe(privateToken.password);
    expect(aws.count({ service: "ecr-public" })).toBe(1);
    expect(aws.count({ service: "ecr" })).toBe(1);
  });

  it("is refreshed like the others once less than the minimum TTL remains", async () => {
    let clock = Date.now();
    const source = tokenSource({ now: () => clock });
    await source.getPublic();
    clock += 6.5 * HOUR;
    await source.getPublic();
    expect(aws.count({ service: "ecr-public" })).toBe(2);
  });

  it("a throttled call is retried, and a failure names ECR Public", async () => {
    const metrics = createMetrics();
    aws.throttleNext("GetAuthorizationToken", 1);
    await expect(tokenSource({ metrics }).getPublic()).resolves.toMatchObject({
      password: expect.any(String),
    });
    expect(aws.count({ service: "ecr-public" })).toBe(2);
    aws.failNext("GetAuthorizationToken", 10, 500);
    await expect(tokenSource({ metrics }).getPublic()).rejects.toThrow(
      /^ECR Public GetAuthorizationToken for us-east-1 as default failed: ServerException/,
    );
    const fetches = await metrics.registry.getSingleMetricAsString("ecr_webhook_token_fetches_total");
    expect(fetches).toContain('result="throttled"} 1');
  });
});
