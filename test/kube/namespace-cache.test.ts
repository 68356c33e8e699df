import { afterEach, describe, expect, it } from "vitest";
import { createNamespaceCache, type NamespaceCache } from "../../src/kube/namespace-cache.js";
import { silentLogger } from "../../src/log/logger.js";
import { startKubeApi, type KubeApiStandIn } from "../support/kube-api/index.js";
import { ENABLED } from "../support/harness.js";
import { testConfig } from "../support/fixtures.js";
import { namespaceEnabled } from "../../src/policy/namespace.js";

let kube: KubeApiStandIn | undefined;
let cache: NamespaceCache | undefined;
afterEach(async () => {
  await cache?.stop();
  await kube?.close();
  cache = kube = undefined;
});

async function start() {
  kube = await startKubeApi();
  kube.addNamespace("team-a", {
    labels: ENABLED,
    annotations: { "ecr-webhook.io/allowed-regions": "us-east-1" },
  });
  kube.addNamespace("team-b");
  cache = createNamespaceCache(kube.kubeConfig(), silentLogger(), { retryBaseMs: 20 });
  await cache.start();
  return { kube, cache };
}

const namespaceGets = (kube: KubeApiStandIn) => kube.count({ resource: "namespaces", verb: "get" });

describe("watch-backed Namespace cache (against the Kubernetes stand-in)", () => {
  it("serves labels and annotations from the list without a GET per lookup", async () => {
    const { kube, cache } = await start();
    expect(cache.synced()).toBe(true);
    for (let i = 0; i < 50; i++) {
      expect(await cache.get("team-a")).toMatchObject({
        name: "team-a",
        labels: ENABLED,
        annotations: { "ecr-webhook.io/allowed-regions": "us-east-1" },
        terminating: false,
      });
    }
    expect(namespaceGets(kube)).toBe(0);
    expect(kube.count({ resource: "namespaces", verb: "list" })).toBe(1);
  });

  it("follows label and annotation changes, additions, termination and deletion", async () => {
    const { kube, cache } = await start();
    kube.updateNamespace("team-b", (ns: any) => {
      ns.metadata.labels = { ...ns.metadata.labels, ...ENABLED };
      ns.metadata.annotations = { "ecr-webhook.io/allowed-accounts": "123456789012" };
    });
    kube.updateNamespace("team-a", (ns: any) => {
      delete ns.metadata.labels["ecr-webhook.io/inject"];
    });
    kube.addNamespace("team-c", { labels: ENABLED });
    await expect
      .poll(async () => (await cache.get("team-b"))?.labels["ecr-webhook.io/inject"])
      .toBe("enabled");
    await expect
      .poll(async () => (await cache.get("team-a"))?.labels["ecr-webhook.io/inject"])
      .toBeUndefined();
    expect((await cache.get("team-b"))?.annotations).toEqual({
      "ecr-webhook.io/allowed-accounts": "123456789012",
    });
    await expect
      .poll(() =>
        cache
          .list()
          .map((n) => n.name)
          .sort(),
      )
      .toEqual(["team-a", "team-b", "team-c"]);
    kube.terminateNamespace("team-c");
    await expect.poll(async () => (await cache.get("team-c"))?.terminating).toBe(true);
    kube.removeNamespace("team-c");
    await expect.poll(() => cache.list().map((n) => n.name)).not.toContain("team-c");
    expect(namespaceGets(kube)).toBe(0);
  });

  it("survives a dropped watch: re-watches and sees later changes", async () => {
    const { kube, cache } = await start();
    await expect.poll(() => kube.openWatches()).toBe(1);
    kube.dropWatches();
    kube.updateNamespace("team-b", (ns: any) => void (ns.metadata.labels = ENABLED));
    await expect
      .poll(async () => (await cache.get("team-b"))?.labels["ecr-webhook.io/inject"], { timeout: 5_000 })
      .toBe("enabled");
  });

  it("relists after 410 Gone and drops namespaces deleted meanwhile", async () => {
    const { kube, cache } = await start();
    await expect.poll(() => kube.openWatches()).toBe(1);
    const lists = kube.count({ resource: "namespaces", verb: "list" });
    // While the watch is down, history is compacted: the re-watch gets 410 and must relist.
    kube.endWatches();
    kube.removeNamespace("team-b");
    kube.addNamespace("team-d", { labels: ENABLED });
    kube.compactHistory();
    await expect
      .poll(
        () =>
          cache
            .list()
            .map((n) => n.name)
            .sort(),
        { timeout: 5_000 },
      )
      .toEqual(["team-a", "team-d"]);
    expect(kube.count({ resource: "namespaces", verb: "list" })).toBeGreaterThan(lists);
  });

  it("falls back to one GET for a namespace newer than the cache, and answers undefined for none", async () => {
    const { kube, cache } = await start();
    await cache.stop(); // no more watch events: the next namespace is unknown to the cache
    kube.addNamespace("brand-new", { labels: ENABLED });
    expect((await cache.get("brand-new"))?.labels).toMatchObject(ENABLED);
    expect(await cache.get("nowhere")).toBeUndefined();
    expect(namespaceGets(kube)).toBe(2);
  });

  it("confirms with one GET a namespace it holds as not enabled (its label may be newer than the watch)", async () => {
    const { kube } = await start();
    await cache!.stop();
    const policy = testConfig();
    cache = createNamespaceCache(kube.kubeConfig(), silentLogger(), { retryBaseMs: 20, policy });
    await cache.start();
    await cache.stop(); // the watch falls behind: labels set from now on reach it only through a GET
    kube.updateNamespace(
      "team-b",
      (ns: any) => void (ns.metadata.labels = { ...ns.metadata.labels, ...ENABLED }),
    );
    expect((await cache.get("team-b"))?.labels).toMatchObject(ENABLED);
    expect(namespaceGets(kube)).toBe(1);
    // Enabled in the cache: no GET. Really not enabled, confirmed by a GET: not asked again at once.
    await cache.get("team-a");
    kube.addNamespace("team-c");
    const before = namespaceGets(kube);
    await cache.start();
    await cache.get("team-c");
    const confirmed = namespaceGets(kube);
    expect(confirmed).toBe(before + 1);
    for (let i = 0; i < 5; i++) expect(namespaceEnabled((await cache.get("team-c"))!, policy)).toBe(false);
    expect(namespaceGets(kube)).toBe(confirmed);
  });
});
