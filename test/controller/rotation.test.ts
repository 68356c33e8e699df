import { afterEach, describe, expect, it } from "vitest";
import { dockerConfigOf, leakedSecrets } from "../support/harness.js";
import { HOUR, startRotationRig, type RotationRig } from "../support/rotation-rig.js";

const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const WEST = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";

let rig: RotationRig | undefined;
afterEach(async () => {
  if (rig) expect(leakedSecrets(rig.logs, rig.aws)).toEqual([]);
  await rig?.close();
  rig = undefined;
});

const writes = (rig: RotationRig) =>
  rig.kube.count((r) => r.resource === "secrets" && ["create", "update", "patch"].includes(r.verb ?? ""));

describe("rotation", () => {
  it("600 enabled namespaces: one ECR call per (identity, region), every Secret fresh; a second cycle writes nothing", async () => {
    rig = await startRotationRig();
    for (let i = 0; i < 600; i++) {
      rig.seedSecret(
        `ns-${i}`,
        i % 2 === 0 ? { [EAST]: `old-${i}` } : { [EAST]: `old-${i}`, [WEST]: `older-${i}` },
        12,
      );
    }
    rig.kube.addNamespace("not-enabled");
    // Seven hours later every entry has 5h left: under the 6h minimum.
    rig.clock.advance(7 * HOUR);
    const first = await rig.cycle();
    expect(first).toMatchObject({ namespaces: 600, refreshed: 600, fresh: 0, failed: [], ecrCalls: 2 });
    expect(rig.aws.count({ service: "ecr", region: "us-east-1" })).toBe(1);
    expect(rig.aws.count({ service: "ecr", region: "eu-west-1" })).toBe(1);
    expect(writes(rig)).toBe(600);
    const east = rig.aws.tokens.find((t) => t.region === "us-east-1")!;
    const west = rig.aws.tokens.find((t) => t.region === "eu-west-1")!;
    for (let i = 0; i < 600; i++) {
      const secret: any = rig.kube.get("secrets", `ns-${i}`, "ecr-pull-secret");
      const auths = dockerConfigOf(secret).auths;
      expect(auths[EAST]!.password).toBe(east.password);
      if (i % 2 === 1) expect(auths[WEST]!.password).toBe(west.password);
      const expiries = JSON.parse(secret.metadata.annotations["ecr-webhook.io/expiries"]);
      expect(Date.parse(expiries[EAST]) - rig.clock.now()).toBe(12 * HOUR);
    }
    expect(first.oldestTokenAgeSeconds).toBe(0);

    rig.kube.clearRequests();
    const second = await rig.cycle();
    expect(second).toMatchObject({ namespaces: 600, refreshed: 0, fresh: 600, ecrCalls: 0 });
    expect(writes(rig)).toBe(0);
    // The Secrets come from a list of their name, pages of 500, metadata only: no GET per namespace.
    const reads = rig.kube.requests.filter((r) => r.resource === "secrets" && r.verb !== "update");
    expect(reads.map((r) => [r.verb, r.namespace, r.query.fieldSelector, r.query.limit])).toEqual([
      ["list", undefined, "metadata.name=ecr-pull-secret", "500"],
      ["list", undefined, "metadata.name=ecr-pull-secret", "500"],
    ]);
    expect(reads[1]!.query.continue).toBeTruthy();
    expect(reads.every((r) => r.accept?.includes("as=PartialObjectMetadataList"))).toBe(true);
  });

  it("a Secret list the API server refuses: each namespace's Secret is read instead, and it says so", async () => {
    rig = await startRotationRig();
    for (let i = 0; i < 5; i++) rig.seedSecret(`ns-${i}`, { [EAST]: `old-${i}` }, 1);
    rig.kube.failNext({ status: 403, match: (r) => r.resource === "secrets" && r.verb === "list" });
    const summary = await rig.cycle();
    expect(summary).toMatchObject({ namespaces: 5, refreshed: 5, failed: [] });
    expect(rig.kube.count({ resource: "secrets", verb: "get" })).toBe(5);
    expect(rig.logs.parsed().map((l) => l.msg)).toContain(
      "could not list pull Secrets; reading each namespace's instead",
    );
  });

  it("logs one summary line per cycle and exports the oldest token age", async () => {
    rig = await startRotationRig();
    rig.seedSecret("a", { [EAST]: "x" }, 9);
    rig.clock.advance(1 * HOUR); // 8h left: fresh, issued 4h ago
    const summary = await rig.cycle();
    expect(summary).toMatchObject({ refreshed: 0, fresh: 1, oldestTokenAgeSeconds: 4 * 3600 });
    const { logSummary } = await import("../../src/controller/rotation.js");
    logSummary(rig.deps.logger, summary);
    const line = rig.logs.parsed().find((l) => l.msg === "rotation cycle finished");
    expect(line).toMatchObject({ namespaces: 1, refreshed: 0, failed: 0, ecrCalls: 0 });
    const metric = await rig.deps.metrics.registry.getSingleMetricAsString(
      "ecr_webhook_oldest_token_age_seconds",
    );
    expect(metric).toContain("ecr_webhook_oldest_token_age_seconds 14400");
  });

  it("ECR throttling during a cycle: no valid entry is lost, and the next cycle completes the work", async () => {
    rig = await startRotationRig();
    for (let i = 0; i < 50; i++) rig.seedSecret(`t-${i}`, { [EAST]: `still-valid-${i}` }, 12);
    rig.clock.advance(7 * HOUR);
    const before = rig.kube.listObjects("secrets").map((s: any) => s.data);
    rig.aws.throttleNext("GetAuthorizationToken", 10_000);
    const throttled = await rig.cycle();
    expect(throttled.failed).toHaveLength(50);
    expect(throttled.failed[0]!.message).toMatch(/ThrottlingException/);
    expect(writes(rig)).toBe(0);
    expect(rig.kube.listObjects("secrets").map((s: any) => s.data)).toEqual(before);
    await expect
      .poll(() => rig!.kube.listObjects("events", "t-0").map((e: any) => e.reason))
      .toContain("PullSecretRefreshFailed");

    rig.aws.reset(); // ECR recovers
    rig.clock.advance(11_000); // past the failure hold
    const recovered = await rig.cycle();
    expect(recovered).toMatchObject({ refreshed: 50, failed: [], ecrCalls: 1 });
    const password = rig.aws.tokens[0]!.password;
    for (let i = 0; i < 50; i++) {
      expect(dockerConfigOf(rig.kube.get("secrets", `t-${i}`, "ecr-pull-secret")).auths[EAST]!.password).toBe(
        password,
      );
    }
  });

  it("an API server that fails mid-cycle: the failed namespaces converge on the next cycle", async () => {
    rig = await startRotationRig();
    for (let i = 0; i < 20; i++) rig.seedSecret(`k-${i}`, { [EAST]: "old" }, 12);
    rig.clock.advance(7 * HOUR);
    rig.kube.failNext({
      status: 500,
      times: 40,
      match: (r) => r.resource === "secrets" && r.verb === "update",
    });
    const partial = await rig.cycle();
    expect(partial.refreshed + partial.failed.length).toBe(20);
    expect(partial.failed.length).toBeGreaterThan(0);
    const converged = await rig.cycle();
    expect(converged).toMatchObject({ failed: [] });
    expect(converged.refreshed).toBe(partial.failed.length);
  });

  it("honours 429 Too Many Requests and its Retry-After", async () => {
    rig = await startRotationRig();
    rig.seedSecret("busy", { [EAST]: "old" }, 12);
    rig.clock.advance(7 * HOUR);
    rig.kube.failNext({
      status: 429,
      retryAfterSeconds: 1,
      times: 1,
      match: (r) => r.resource === "secrets" && r.verb === "update",
    });
    const started = Date.now();
    const summary = await rig.cycle();
    expect(summary).toMatchObject({ refreshed: 1, failed: [] });
    const updates = rig.kube.requests.filter((r) => r.resource === "secrets" && r.verb === "update");
    expect(updates).toHaveLength(2);
    // The retry waited for the server's Retry-After, not just the (2-10 ms) backoff.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });
});
