/**
 * Two replicas as the shipped Deployment runs them (--leader-elect=true, client-go's timings): the
 * Lease the API server stores, a holder killed without a chance to hand it back, and rotation going
 * on under the new leader.
 */
import { expect, it } from "vitest";
import { ENABLED } from "./support/cluster.js";
import { HOUR_MS, seedManagedSecret } from "./support/seed.js";
import { describeE2e, dockerConfigOf, SECRET, useSuite } from "./support/suite.js";
import type { ServeProcess } from "../support/webhook-process.js";

const LEASE = { namespace: "ecr-webhook", name: "ecr-webhook-leader" };
const LEASE_DURATION_MS = 15_000;
const RETRY_PERIOD_MS = 2_000;
const HOSTS = [
  "123456789012.dkr.ecr.us-east-1.amazonaws.com",
  "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
];

describeE2e("leader election with two replicas", () => {
  const suite = useSuite({ serveArgs: null });

  const readLease = () => suite.cluster.coordination.readNamespacedLease(LEASE);
  const identityOf = (serve: ServeProcess) =>
    serve.logged("became leader")[0]?.identity as string | undefined;
  const seedStale = async (namespaces: readonly string[]) => {
    for (const namespace of namespaces)
      await seedManagedSecret(suite.cluster, namespace, HOSTS, new Date(Date.now() - HOUR_MS));
  };

  it("one replica holds the Lease; killed, it is replaced and rotation goes on with one ECR call per region", async () => {
    const namespaces: string[] = [];
    for (let i = 0; i < 6; i++)
      namespaces.push(await suite.namespace(`rotate${i}`, { labels: { ...ENABLED } }));
    await seedStale(namespaces);
    // Rotation every hour: within this test, only a new leader's first cycle rotates.
    const args = ["--rotation-interval=1h"];
    const replicas = [await suite.startServe(args), await suite.startServe(args)];
    for (const replica of replicas) await replica.waitReady();

    await expect.poll(async () => (await readLease()).spec?.holderIdentity, { timeout: 40_000 }).toBeTruthy();
    await expect.poll(() => replicas.filter((r) => identityOf(r)).length, { timeout: 10_000 }).toBe(1);
    const leader = replicas.find((r) => identityOf(r))!;
    const follower = replicas.find((r) => r !== leader)!;
    const lease = await readLease();
    expect(lease.spec?.holderIdentity).toBe(identityOf(leader));
    expect(lease.spec?.leaseDurationSeconds).toBe(LEASE_DURATION_MS / 1000);
    expect(String(lease.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
    expect([await leader.metric("ecr_webhook_leader"), await follower.metric("ecr_webhook_leader")]).toEqual([
      1, 0,
    ]);

    // The first leader's cycle refreshed the seeded Secrets; make them stale again.
    await expect
      .poll(() => leader.logged("rotation cycle finished").length, { timeout: 30_000 })
      .toBeGreaterThan(0);
    await seedStale(namespaces);

    const killedAt = Date.now();
    await leader.kill();
    const callsBefore = suite.aws.count({ action: "GetAuthorizationToken" });
    await expect
      .poll(async () => (await readLease()).spec?.holderIdentity, {
        timeout: LEASE_DURATION_MS + 4 * RETRY_PERIOD_MS,
        interval: 200,
      })
      .not.toBe(identityOf(leader));
    const takeoverMs = Date.now() - killedAt;
    // Info lines reach stdout within 100 ms (gathered writes): wait for the follower's to name the holder.
    const holder = (await readLease()).spec?.holderIdentity;
    await expect.poll(() => identityOf(follower), { timeout: 2_000 }).toBe(holder);
    // client-go's bound: the lease duration as the follower observed it, plus its retry period.
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_DURATION_MS + 2 * RETRY_PERIOD_MS);
    console.log(`e2e: leader killed, replaced after ${takeoverMs} ms`);

    await expect
      .poll(() => follower.logged("rotation cycle finished").length, { timeout: 30_000 })
      .toBeGreaterThan(0);
    for (const namespace of namespaces) {
      const secret = await suite.cluster.core.readNamespacedSecret({ namespace, name: SECRET });
      const auths = dockerConfigOf(secret);
      for (const host of HOSTS) expect(auths[host]?.password).not.toBe(`old-${host}`);
    }
    expect(suite.aws.count({ action: "GetAuthorizationToken" }) - callsBefore).toBe(HOSTS.length);
    expect(await follower.metric("ecr_webhook_leader")).toBe(1);
  });
});
