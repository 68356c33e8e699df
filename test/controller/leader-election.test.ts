import { afterEach, describe, expect, it } from "vitest";
import { startWebhook, type RunningWebhook } from "../../src/commands/serve.js";
import { LEASE_NAME } from "../../src/controller/controller.js";
import { startLeaderElection } from "../../src/controller/leader-election.js";
import { createLogger } from "../../src/log/logger.js";
import { silentLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { startAwsStandIn, type AwsStandIn } from "../support/aws/index.js";
import { useAwsEndpoints } from "../support/aws-env.js";
import { testConfig } from "../support/fixtures.js";
import { ENABLED, LogCapture } from "../support/harness.js";
import { startKubeApi, type KubeApiStandIn } from "../support/kube-api/index.js";

let kube: KubeApiStandIn;
let aws: AwsStandIn;
let restore: () => void;
const running: RunningWebhook[] = [];

async function setup() {
  kube = await startKubeApi();
  aws = await startAwsStandIn();
  restore = useAwsEndpoints(aws);
  kube.addNamespace("ecr-webhook");
  kube.addNamespace("team-a", { labels: ENABLED });
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.close()));
  await kube.close();
  await aws.close();
  restore();
});

/** A replica as the Deployment runs it: its own process state, the same cluster, a short lease. */
async function replica(identity: string, leaseDurationMs: number): Promise<RunningWebhook> {
  const webhook = await startWebhook({
    config: testConfig(
      [
        "--port=0",
        "--metrics-port=0",
        "--rotation-interval=1s",
        "--default-account=123456789012",
        "--default-region=us-east-1",
      ],
      {
        POD_NAMESPACE: "ecr-webhook",
      },
    ),
    logger: silentLogger(),
    kubeConfig: kube.kubeConfig(),
    metrics: createMetrics(),
    host: "127.0.0.1",
    identity,
    leaseTiming: { leaseDurationMs, renewDeadlineMs: leaseDurationMs * 0.7, retryPeriodMs: 100 },
  });
  running.push(webhook);
  return webhook;
}

const holder = () => (kube.get("leases", "ecr-webhook", LEASE_NAME) as any)?.spec?.holderIdentity;
const rotations = async (w: RunningWebhook) =>
  Number(
    (await w.metrics.registry.getSingleMetricAsString("ecr_webhook_last_rotation_success_timestamp_seconds"))
      .split(" ")
      .pop(),
  );

async function stop(w: RunningWebhook, releaseLease: boolean) {
  running.splice(running.indexOf(w), 1);
  await w.close({ releaseLease });
}

describe("a Lease the API server refuses", () => {
  it("is reported at warn with the server's reason, counted, and nobody leads", async () => {
    await setup();
    const logs = new LogCapture();
    const metrics = createMetrics();
    kube.failNext({ status: 403, times: 1_000, match: (r) => r.resource === "leases" });
    const election = startLeaderElection({
      kubeConfig: kube.kubeConfig(),
      namespace: "ecr-webhook",
      name: LEASE_NAME,
      identity: "replica-a",
      leaseDurationMs: 2_000,
      renewDeadlineMs: 1_400,
      retryPeriodMs: 50,
      logger: createLogger("info", logs),
      metrics,
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    });
    try {
      await expect
        .poll(async () =>
          Number(
            (await metrics.registry.getSingleMetricAsString("ecr_webhook_lease_write_failures_total")).match(
              /code="403"} (\d+)/,
            )?.[1] ?? 0,
          ),
        )
        .toBeGreaterThanOrEqual(3);
      const warnings = logs.parsed().filter((l) => l.level === "warn");
      // Reported once when it starts, not once per attempt.
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ code: 403, lease: "ecr-webhook/ecr-webhook-leader" });
      expect(warnings[0].msg).toMatch(/^cannot become leader/);
      expect(election.isLeader()).toBe(false);
    } finally {
      await election.stop();
    }
  });

  it("a renewal that keeps failing past the renew deadline steps the leader down, saying why", async () => {
    await setup();
    const logs = new LogCapture();
    let leading = false;
    const election = startLeaderElection({
      kubeConfig: kube.kubeConfig(),
      namespace: "ecr-webhook",
      name: LEASE_NAME,
      identity: "replica-a",
      leaseDurationMs: 2_000,
      renewDeadlineMs: 500,
      retryPeriodMs: 50,
      logger: createLogger("info", logs),
      onStartedLeading: () => void (leading = true),
      onStoppedLeading: () => void (leading = false),
    });
    try {
      await expect.poll(() => leading).toBe(true);
      kube.failNext({ status: 500, times: 1_000, match: (r) => r.resource === "leases" });
      await expect.poll(() => leading, { timeout: 10_000 }).toBe(false);
      const messages = logs.parsed().map((l) => `${l.level} ${l.msg}`);
      expect(messages).toContain("warn could not renew the leader Lease");
      expect(messages).toContain("warn lost leadership: the Lease was not renewed within the renew deadline");
    } finally {
      await election.stop({ release: false });
    }
  });
});

describe("leader election across replicas", () => {
  it("exactly one replica leads and rotates; the other only serves", async () => {
    await setup();
    const [a, b] = [await replica("replica-a", 2_000), await replica("replica-b", 2_000)];
    await expect.poll(() => holder(), { timeout: 5_000 }).toMatch(/^replica-[ab]$/);
    const leader = holder() === "replica-a" ? a : b;
    const follower = leader === a ? b : a;
    await expect.poll(() => rotations(leader), { timeout: 5_000 }).toBeGreaterThan(0);
    // The leader's rotation created the default registry's Secret in the enabled namespace.
    await expect.poll(() => kube.get("secrets", "team-a", "ecr-pull-secret")).toBeDefined();
    await new Promise((r) => setTimeout(r, 1_500)); // several rotation intervals and lease renewals
    expect(leader.isLeader()).toBe(true);
    expect(follower.isLeader()).toBe(false);
    expect(await rotations(follower)).toBe(0);
  });

  it("a leader that dies without releasing is replaced once the lease expires", async () => {
    await setup();
    const a = await replica("replica-a", 2_000);
    await expect.poll(() => a.isLeader(), { timeout: 5_000 }).toBe(true);
    const b = await replica("replica-b", 2_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.isLeader()).toBe(false);
    const killedAt = Date.now();
    await stop(a, false); // crash: the Lease still names replica-a
    expect(holder()).toBe("replica-a");
    // Liveness is the poll's timeout, generous for a loaded machine; safety is the lower bound.
    await expect.poll(() => b.isLeader(), { timeout: 15_000, interval: 50 }).toBe(true);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1_900);
    await expect.poll(() => rotations(b), { timeout: 5_000 }).toBeGreaterThan(0);
  });

  it("shutdown (SIGTERM) releases the lease at once: the next replica leads long before expiry", async () => {
    await setup();
    const a = await replica("replica-a", 30_000);
    await expect.poll(() => a.isLeader(), { timeout: 5_000 }).toBe(true);
    const b = await replica("replica-b", 30_000);
    const stoppedAt = Date.now();
    await stop(a, true);
    expect(holder()).toBe("");
    await expect.poll(() => b.isLeader(), { timeout: 10_000, interval: 50 }).toBe(true);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(holder()).toBe("replica-b");
    expect(
      (kube.get("leases", "ecr-webhook", LEASE_NAME) as any).spec.leaseTransitions,
    ).toBeGreaterThanOrEqual(1);
  });
});

describe("--leader-elect=false", () => {
  it("this replica leads for good, says so in ecr_webhook_leader, and takes no Lease", async () => {
    await setup();
    const webhook = await startWebhook({
      config: testConfig(["--port=0", "--metrics-port=0", "--leader-elect=false", "--rotation-interval=1h"]),
      logger: silentLogger(),
      kubeConfig: kube.kubeConfig(),
      metrics: createMetrics(),
      host: "127.0.0.1",
    });
    const leaderGauge = async () => (await webhook.metrics.isLeader.get()).values[0]?.value;
    // The controller starts once the Namespace cache has its first list.
    await expect.poll(() => webhook.isLeader()).toBe(true);
    expect(await leaderGauge()).toBe(1);
    expect(holder()).toBeUndefined();
    await webhook.close();
    expect(await leaderGauge()).toBe(0);
  });
});
