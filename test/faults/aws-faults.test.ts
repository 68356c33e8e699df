/**
 * AWS faults on the admission path, against the whole webhook (real token source, ensurer, SDK) and
 * the AWS stand-in: throttling, 5xx, an endpoint that hangs past the call timeout, and STS failing
 * for a role-mapped account. In each: the review is answered within its deadline (plus a generous
 * margin for a loaded machine), no valid entry of the Secret is lost, and the Secret is completed
 * once AWS answers again.
 */
import { afterEach, describe, expect, it } from "vitest";
import { buildSecret } from "../../src/secrets/pull-secret.js";
import type { AwsStandIn } from "../support/aws/index.js";
import {
  EAST,
  OTHER,
  REFERENCE_PATCH,
  ROLE,
  SECRET,
  WEST,
  authsOf,
  expiriesOf,
  patchOf,
  startStack,
  type Stack,
} from "../support/fault-stack.js";
import { ENABLED, leakedSecrets } from "../support/harness.js";
import { HOUR, TestClock } from "../support/rotation-rig.js";

/** Answers may come this much after their deadline on a busy 2-core machine (a bound, not a speed). */
const MARGIN_MS = 2_000;
const timeoutWarning = (ms: number) =>
  `ecr-webhook: pull Secret not confirmed within ${ms}ms; it is being completed in the background`;

let stack: Stack | undefined;
afterEach(async () => {
  if (stack) expect(leakedSecrets(stack.logs, stack.aws)).toEqual([]);
  await stack?.close();
  stack = undefined;
});

const ecrCalls = (aws: AwsStandIn) => aws.count({ service: "ecr", action: "GetAuthorizationToken" });
const ensureFailed = (s: Stack, namespace: string) =>
  s.logs.parsed().some((l) => l.msg === "pull Secret not ensured" && l.namespace === namespace);
const metric = async (s: Stack, name: string) => s.webhook.metrics.registry.getSingleMetricAsString(name);

describe("ECR failing on the admission path", () => {
  const faults: { name: string; inject: (aws: AwsStandIn) => void; result: string }[] = [
    {
      name: "throttling",
      inject: (aws) => aws.throttleNext("GetAuthorizationToken", 2),
      result: "throttled",
    },
    { name: "500s", inject: (aws) => aws.failNext("GetAuthorizationToken", 2, 500), result: "error" },
    { name: "503s", inject: (aws) => aws.failNext("GetAuthorizationToken", 2, 503), result: "error" },
  ];

  it.each(faults)(
    "$name: answered by the deadline with the reference; the Secret follows when ECR answers",
    async ({ inject, result }) => {
      stack = await startStack({ argv: ["--admission-deadline=300ms"] });
      const s = stack;
      s.kube.addNamespace("flaky", { labels: ENABLED });
      inject(s.aws);
      const res = await s.review("flaky");
      expect(res.status).toBe(200);
      expect(res.elapsedMs).toBeLessThan(300 + MARGIN_MS);
      expect(patchOf(res.body)).toEqual(REFERENCE_PATCH);
      // Two failed calls at least 250 ms apart (the per-key call interval): the Secret cannot be
      // confirmed within 300 ms, so the pod is admitted with the reference and this warning.
      expect(res.body.response.warnings).toEqual([timeoutWarning(300)]);

      await expect.poll(() => authsOf(s.kube, "flaky")?.[EAST], { timeout: 10_000 }).toBeDefined();
      expect(ecrCalls(s.aws)).toBe(3);
      expect(s.aws.tokens).toHaveLength(1);
      expect(authsOf(s.kube, "flaky")![EAST]!.password).toBe(s.aws.tokens[0]!.password);
      const fetches = await metric(s, "ecr_webhook_token_fetches_total");
      expect(fetches).toContain(`ecr_webhook_token_fetches_total{result="${result}"} 2`);
      expect(fetches).toContain('ecr_webhook_token_fetches_total{result="success"} 1');
    },
  );

  it("an endpoint that hangs past the call timeout: every review answered by its own deadline, one call at a time, all Secrets written once it answers", async () => {
    stack = await startStack({ argv: ["--admission-deadline=1s", "--aws-call-timeout=400ms"] });
    const s = stack;
    const namespaces = ["hang-a", "hang-b", "hang-c", "hang-d"];
    for (const ns of namespaces) s.kube.addNamespace(ns, { labels: ENABLED });
    s.aws.hang("GetAuthorizationToken", true);
    // Half the reviews come from an API server that waits only 800 ms: they get 300 ms.
    const reviews = await Promise.all(
      namespaces.flatMap((ns) => [
        s.review(ns),
        s.review(ns, { timeout: "800ms" }),
        s.review(ns, { timeout: "800ms" }),
      ]),
    );
    expect(reviews).toHaveLength(12);
    for (const [i, res] of reviews.entries()) {
      const deadline = i % 3 === 0 ? 1_000 : 300;
      expect(res.status).toBe(200);
      expect(patchOf(res.body)).toEqual(REFERENCE_PATCH);
      expect(res.body.response.warnings).toEqual([timeoutWarning(deadline)]);
      expect(res.elapsedMs).toBeLessThan(deadline + MARGIN_MS);
    }
    // The first call was abandoned at the call timeout and retried; never more than one is open.
    await expect.poll(() => ecrCalls(s.aws), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(s.aws.hanging("GetAuthorizationToken")).toBeLessThanOrEqual(1);
    s.aws.hang("GetAuthorizationToken", false);

    for (const ns of namespaces) {
      await expect.poll(() => authsOf(s.kube, ns)?.[EAST], { timeout: 10_000 }).toBeDefined();
    }
    expect(s.aws.tokens).toHaveLength(1);
    for (const ns of namespaces) expect(authsOf(s.kube, ns)![EAST]!.password).toBe(s.aws.tokens[0]!.password);
    // Twelve reviews, one retry chain: at most its five attempts.
    expect(ecrCalls(s.aws)).toBeLessThanOrEqual(5);
    expect(s.aws.hanging()).toBe(0);
  });

  it("an outage keeps every entry of an existing Secret as it was; the next review refreshes it and keeps the rest", async () => {
    const clock = new TestClock();
    stack = await startStack({ now: clock.now, argv: ["--admission-deadline=300ms"] });
    const s = stack;
    s.kube.addNamespace("keep", { labels: ENABLED });
    const otherExpiry = new Date(clock.now() + 10 * HOUR);
    const entries = new Map([
      [EAST, { password: "stale-east", expiresAt: new Date(clock.now() + 1 * HOUR) }],
      [OTHER, { password: "valid-other", expiresAt: otherExpiry }],
    ]);
    s.kube.put("secrets", "keep", buildSecret("keep", SECRET, entries) as any);
    const before = s.kube.get("secrets", "keep", SECRET)!;
    s.aws.failNext("GetAuthorizationToken", 10_000, 500);

    const res = await s.review("keep");
    expect(res.elapsedMs).toBeLessThan(300 + MARGIN_MS);
    expect(patchOf(res.body)).toEqual(REFERENCE_PATCH);
    expect(res.body.response.warnings).toHaveLength(1);
    await expect.poll(() => ensureFailed(s, "keep"), { timeout: 15_000 }).toBe(true);
    expect(ecrCalls(s.aws)).toBe(5);
    expect(s.kube.get("secrets", "keep", SECRET)).toEqual(before);
    expect(
      s.kube.count((r) => r.resource === "secrets" && ["create", "update", "delete"].includes(r.verb!)),
    ).toBe(0);

    s.aws.reset(); // ECR recovers
    clock.advance(11_000); // past the token source's failure hold
    const after = await s.review("keep");
    expect(after.body.response.warnings).toBeUndefined();
    const auths = authsOf(s.kube, "keep")!;
    expect(Object.keys(auths).sort()).toEqual([EAST, OTHER].sort());
    expect(auths[EAST]!.password).toBe(s.aws.tokens[0]!.password);
    expect(auths[OTHER]!.password).toBe("valid-other");
    expect(expiriesOf(s.kube, "keep")[OTHER]).toBe(otherExpiry.toISOString());
  });

  it("an outage longer than the retry budget: the Secret is completed in the background once ECR answers, without another review", async () => {
    const clock = new TestClock();
    stack = await startStack({ now: clock.now, argv: ["--admission-deadline=300ms"] });
    const s = stack;
    s.kube.addNamespace("outage", { labels: ENABLED });
    s.aws.throttleNext("GetAuthorizationToken", 10_000);
    const res = await s.review("outage");
    expect(res.body.response.warnings).toEqual([timeoutWarning(300)]);
    await expect.poll(() => ensureFailed(s, "outage"), { timeout: 15_000 }).toBe(true);
    s.aws.reset(); // ECR recovers; no pod is created in the namespace after this
    clock.advance(11_000);
    await expect.poll(() => authsOf(s.kube, "outage")?.[EAST], { timeout: 15_000 }).toBeDefined();
  });
});

describe("STS failing for a role-mapped account", () => {
  const withWest = (review: any) => {
    review.request.object.spec.initContainers = [{ name: "migrate", image: `${WEST}/tools/migrate:1` }];
  };

  it.each([
    {
      name: "500s beyond the SDK's own retries",
      inject: (aws: AwsStandIn) => aws.failNext("AssumeRole", 4, 500),
      assumeRoleCalls: 5,
    },
    {
      name: "throttling within the SDK's own retries",
      inject: (aws: AwsStandIn) => aws.throttleNext("AssumeRole", 2),
      assumeRoleCalls: 3,
    },
  ])(
    "$name: answered by the deadline; both registries' entries written once STS answers",
    async ({ inject, assumeRoleCalls }) => {
      stack = await startStack({
        argv: ["--admission-deadline=300ms", `--account-role=210987654321=${ROLE}`],
      });
      const s = stack;
      s.kube.addNamespace("sts", { labels: ENABLED });
      inject(s.aws);
      const res = await s.review("sts", { mutate: withWest });
      expect(res.status).toBe(200);
      expect(res.elapsedMs).toBeLessThan(300 + MARGIN_MS);
      expect(patchOf(res.body)).toEqual(REFERENCE_PATCH);
      expect([undefined, [timeoutWarning(300)]]).toContainEqual(res.body.response.warnings);

      await expect.poll(() => authsOf(s.kube, "sts")?.[WEST], { timeout: 10_000 }).toBeDefined();
      const auths = authsOf(s.kube, "sts")!;
      const west = s.aws.tokens.find((t) => t.account === "210987654321" && t.region === "eu-west-1")!;
      const east = s.aws.tokens.find((t) => t.account === "123456789012" && t.region === "us-east-1")!;
      expect(auths[WEST]!.password).toBe(west.password);
      expect(auths[EAST]!.password).toBe(east.password);
      // The role's credentials are cached once STS answered: one successful AssumeRole.
      expect(s.aws.count({ service: "sts", action: "AssumeRole", status: 200 })).toBe(1);
      expect(s.aws.count({ service: "sts", action: "AssumeRole" })).toBe(assumeRoleCalls);
      expect(west.accessKeyId).not.toBe(east.accessKeyId);
    },
  );

  it("throttling beyond the SDK's own retries is retried like ECR throttling, and the Secret is written", async () => {
    stack = await startStack({ argv: ["--admission-deadline=300ms", `--account-role=210987654321=${ROLE}`] });
    const s = stack;
    s.kube.addNamespace("sts-throttled", { labels: ENABLED });
    s.aws.throttleNext("AssumeRole", 4);
    await s.review("sts-throttled", { mutate: withWest });
    await expect.poll(() => authsOf(s.kube, "sts-throttled")?.[WEST], { timeout: 10_000 }).toBeDefined();
    expect(s.aws.count({ service: "sts", action: "AssumeRole" })).toBeGreaterThanOrEqual(5);
  });
});
