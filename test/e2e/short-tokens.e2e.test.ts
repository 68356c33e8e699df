/**
 * ECR handing out tokens with less validity than --min-token-ttl (a shorter-lived token, or clock
 * skew): each is used, cached, and refreshed at a fraction of its own lifetime; no cycle spins.
 */
import { expect, it } from "vitest";
import { ENABLED } from "./support/cluster.js";
import { HOUR_MS, seedManagedSecret } from "./support/seed.js";
import { describeE2e, dockerConfigOf, podBody, REGISTRY, SECRET, useSuite } from "./support/suite.js";
import { runCli } from "../support/webhook-process.js";

describeE2e("tokens shorter than --min-token-ttl (6h) on a real API server", () => {
  // One-hour tokens; rotation runs once at start, then not within this file.
  const suite = useSuite({
    serveArgs: ["--leader-elect=false", "--rotation-interval=1h"],
    aws: { tokenTtlMs: HOUR_MS },
  });

  it("a cold namespace costs one ECR call, and later pods neither call ECR nor rewrite the Secret", async () => {
    await expect
      .poll(() => suite.serve!.logged("rotation cycle finished").length, { timeout: 30_000 })
      .toBeGreaterThan(0);
    const namespace = await suite.namespace("short", { labels: { ...ENABLED } });
    const before = suite.aws.count({ action: "GetAuthorizationToken" });
    await suite.cluster.core.createNamespacedPod({ namespace, body: podBody("p0", [`${REGISTRY}/app:1`]) });
    const written = await suite.cluster.core.readNamespacedSecret({ namespace, name: SECRET });
    expect(dockerConfigOf(written)[REGISTRY]?.password).toBe(suite.aws.tokens.at(-1)?.password);
    for (let i = 1; i <= 5; i++) {
      await suite.cluster.core.createNamespacedPod({
        namespace,
        body: podBody(`p${i}`, [`${REGISTRY}/app:1`]),
      });
    }
    expect(suite.aws.count({ action: "GetAuthorizationToken" }) - before).toBe(1);
    const after = await suite.cluster.core.readNamespacedSecret({ namespace, name: SECRET });
    expect(after.metadata?.resourceVersion).toBe(written.metadata?.resourceVersion);
  });

  it("`refresh` over many stale namespaces ends with its summary, one ECR call, every Secret fresh", async () => {
    const namespaces: string[] = [];
    // More namespaces than --rotation-concurrency (16), so that later ones find the token cached.
    for (let i = 0; i < 40; i++)
      namespaces.push(await suite.namespace(`stale${i}`, { labels: { ...ENABLED } }));
    for (const namespace of namespaces) {
      await seedManagedSecret(suite.cluster, namespace, [REGISTRY], new Date(Date.now() - HOUR_MS));
    }
    const before = suite.aws.count({ action: "GetAuthorizationToken" });
    const result = await runCli(["refresh"], { kubeconfig: suite.kubeconfig, aws: suite.aws });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^✓ \d+ enabled namespaces: (\d+) refreshed, .* 0 failed \(1 ECR calls,/m);
    expect(Number(/(\d+) refreshed/.exec(result.stdout)?.[1])).toBeGreaterThanOrEqual(namespaces.length);
    expect(suite.aws.count({ action: "GetAuthorizationToken" }) - before).toBe(1);
    const token = suite.aws.tokens.at(-1)!;
    for (const namespace of namespaces) {
      const secret = await suite.cluster.core.readNamespacedSecret({ namespace, name: SECRET });
      expect(dockerConfigOf(secret)[REGISTRY]?.password).toBe(token.password);
    }
    // Run again at once: everything is fresh for half the token's life; nothing is called or written.
    const again = await runCli(["refresh"], { kubeconfig: suite.kubeconfig, aws: suite.aws });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/ 0 refreshed, .*\(0 ECR calls,/);
  });
});
