/**
 * Kubernetes API faults: 5xx and 429, slow responses, dropped connections, conflict storms, and an
 * API server restart in the middle of a rotation cycle. Admission still answers by its deadline, no
 * entry of a managed Secret is ever lost, and the next cycle converges.
 *
 * "Restart": the webhook reaches the stand-in through a TCP proxy (test/support/tcp-proxy.ts). The
 * proxy closes its listener and destroys every connection in both directions mid-cycle, refuses
 * connections for a while, then listens again on the SAME port; the stand-in behind it keeps its
 * store, as an API server restarting in front of the same etcd would. (The stand-in itself cannot
 * be re-bound to a port, and this way no request is answered by a half-closed server.)
 */
import { afterEach, describe, expect, it } from "vitest";
import { buildSecret, readEntries } from "../../src/secrets/pull-secret.js";
import {
  EAST,
  OTHER,
  REFERENCE_PATCH,
  SECRET,
  authsOf,
  expiriesOf,
  patchOf,
  seedPullSecret,
  startStack,
  type Stack,
} from "../support/fault-stack.js";
import { ENABLED, leakedSecrets } from "../support/harness.js";
import type { KubeApiStandIn, KubeObject, RecordedRequest } from "../support/kube-api/index.js";
import { startProxiedRig, type ProxiedRig } from "../support/proxied-rig.js";
import { HOUR, TestClock, startRotationRig, type RotationRig } from "../support/rotation-rig.js";

const MARGIN_MS = 2_000;
const isSecret = (r: RecordedRequest) => r.resource === "secrets";
const secretWrite = (r: RecordedRequest) => isSecret(r) && ["create", "update"].includes(r.verb ?? "");

let stack: Stack | undefined;
let rig: RotationRig | ProxiedRig | undefined;
afterEach(async () => {
  if (stack) expect(leakedSecrets(stack.logs, stack.aws)).toEqual([]);
  if (rig) expect(leakedSecrets(rig.logs, rig.aws)).toEqual([]);
  await stack?.close();
  await rig?.close();
  stack = undefined;
  rig = undefined;
});

/** Seeds `count` namespaces whose Secret has a stale EAST entry and a valid OTHER entry. */
function seedStale(kube: KubeApiStandIn, prefix: string, count: number, now: number): string[] {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  for (const ns of names) {
    seedPullSecret(kube, ns, {
      [EAST]: { password: `stale-${ns}`, expiresAt: new Date(now + 1 * HOUR) },
      [OTHER]: { password: `other-${ns}`, expiresAt: new Date(now + 10 * HOUR) },
    });
  }
  return names;
}

/** Nothing lost: both entries still there, OTHER byte for byte, EAST either as it was or a newer token. */
function expectNothingLost(kube: KubeApiStandIn, names: string[], now: number, eastPasswords: string[]) {
  expect(names.length).toBeGreaterThan(0);
  for (const ns of names) {
    const auths = authsOf(kube, ns)!;
    expect(Object.keys(auths).sort()).toEqual([EAST, OTHER].sort());
    expect(auths[OTHER]!.password).toBe(`other-${ns}`);
    expect(expiriesOf(kube, ns)[OTHER]).toBe(new Date(now + 10 * HOUR).toISOString());
    expect([`stale-${ns}`, ...eastPasswords]).toContain(auths[EAST]!.password);
  }
}

describe("Kubernetes API failing on the admission path", () => {
  const faults: { name: string; inject: (kube: KubeApiStandIn) => void }[] = [
    {
      name: "500s on Secret updates",
      inject: (kube) => kube.failNext({ status: 500, times: 3, match: (r) => secretWrite(r) }),
    },
    {
      name: "503s on Secret reads",
      inject: (kube) =>
        kube.failNext({ status: 503, times: 3, match: (r) => isSecret(r) && r.verb === "get" }),
    },
    {
      name: "429 with Retry-After",
      inject: (kube) => kube.failNext({ status: 429, retryAfterSeconds: 1, match: (r) => secretWrite(r) }),
    },
    { name: "dropped connections", inject: (kube) => kube.dropNext({ times: 3, match: isSecret }) },
  ];

  it.each(faults)(
    "$name: answered by the deadline with the reference; the Secret is refreshed and keeps its other entry",
    async ({ inject }) => {
      stack = await startStack({ argv: ["--admission-deadline=500ms"] });
      const s = stack;
      const now = Date.now();
      seedStale(s.kube, "api", 1, now);
      inject(s.kube);
      const res = await s.review("api-0");
      expect(res.status).toBe(200);
      expect(res.elapsedMs).toBeLessThan(500 + MARGIN_MS);
      expect(patchOf(res.body)).toEqual(REFERENCE_PATCH);
      await expect
        .poll(() => authsOf(s.kube, "api-0")?.[EAST]?.password, { timeout: 10_000 })
        .not.toBe("stale-api-0");
      expectNothingLost(s.kube, ["api-0"], now, [s.aws.tokens[0]!.password]);
    },
  );

  it("a slow API server: answered by the deadline with the reference; the Secret follows", async () => {
    stack = await startStack({ argv: ["--admission-deadline=300ms"] });
    const s = stack;
    s.kube.addNamespace("slow", { labels: ENABLED });
    // The namespace is in the cache already; only the Secret's read and create are slow.
    await expect.poll(async () => (await s.get("/readyz")).status, { timeout: 5_000 }).toBe(200);
    s.kube.setLatency(700);
    const res = await s.review("slow");
    expect(res.elapsedMs).toBeLessThan(300 + MARGIN_MS);
    expect(patchOf(res.body)).toEqual(REFERENCE_PATCH);
    expect(res.body.response.warnings).toEqual([
      "ecr-webhook: pull Secret not confirmed within 300ms; it is being completed in the background",
    ]);
    await expect.poll(() => authsOf(s.kube, "slow")?.[EAST], { timeout: 10_000 }).toBeDefined();
  });

  it("a namespace the cache has not seen yet, on a slow API server: answered by the deadline, admitted with a warning", async () => {
    stack = await startStack({ argv: ["--admission-deadline=400ms"] });
    const s = stack;
    await expect.poll(async () => (await s.get("/readyz")).status, { timeout: 5_000 }).toBe(200);
    s.kube.setLatency(3_000);
    s.kube.dropWatches(); // the cache stops hearing about new namespaces until it re-lists (slowly)
    s.kube.addNamespace("brand-new", { labels: ENABLED });
    const res = await s.review("brand-new");
    expect(res.status).toBe(200);
    expect(res.elapsedMs).toBeLessThan(400 + MARGIN_MS);
    expect(res.body.response.allowed).toBe(true);
    expect(res.body.response.warnings).toHaveLength(1);
    expect(res.body.response.warnings[0]).toMatch(/namespace lookup took longer than 400ms/);
    s.kube.setLatency(0);
  });

  it("a conflict storm from a rival writer: every rival entry survives and ours lands", async () => {
    stack = await startStack({ argv: ["--admission-deadline=2s"] });
    const s = stack;
    const now = Date.now();
    seedStale(s.kube, "storm", 1, now);
    const rivals: string[] = [];
    // Before each of our first five updates arrives, another writer adds its own entry: each of our
    // writes carries a stale resourceVersion and gets a real 409 Conflict.
    s.kube.failNext({
      status: 500,
      match: (r) => {
        if (!(secretWrite(r) && r.verb === "update") || rivals.length >= 5) return false;
        const host = `${100_000_000_000 + rivals.length}.dkr.ecr.us-west-2.amazonaws.com`;
        rivals.push(host);
        const current = s.kube.get("secrets", "storm-0", SECRET)!;
        const entries = readEntries(current as any);
        entries.set(host, { password: `rival-${host}`, expiresAt: new Date(now + 9 * HOUR) });
        s.kube.put(
          "secrets",
          "storm-0",
          buildSecret("storm-0", SECRET, entries, current as any) as KubeObject,
        );
        return false;
      },
    });
    const res = await s.review("storm-0");
    expect(res.body.response.warnings).toBeUndefined();
    expect(rivals).toHaveLength(5);
    expect(s.kube.count((r) => secretWrite(r) && r.verb === "update")).toBe(6);
    const auths = authsOf(s.kube, "storm-0")!;
    expect(Object.keys(auths).sort()).toEqual([EAST, OTHER, ...rivals].sort());
    for (const host of rivals) expect(auths[host]!.password).toBe(`rival-${host}`);
    expect(auths[EAST]!.password).toBe(s.aws.tokens[0]!.password);
    expect(auths[OTHER]!.password).toBe("other-storm-0");
  });

  it("a conflict storm longer than the conflict budget: answered with a warning, nothing written, the next review lands", async () => {
    stack = await startStack({ argv: ["--admission-deadline=2s"] });
    const s = stack;
    const now = Date.now();
    seedStale(s.kube, "long-storm", 1, now);
    const before = s.kube.get("secrets", "long-storm-0", SECRET);
    s.kube.conflictNext({ times: 10, match: isSecret });
    const res = await s.review("long-storm-0");
    expect(res.elapsedMs).toBeLessThan(2_000 + MARGIN_MS);
    expect(patchOf(res.body)).toEqual(REFERENCE_PATCH);
    expect(res.body.response.warnings).toHaveLength(1);
    expect(res.body.response.warnings[0]).toMatch(
      /^ecr-webhook: pull Secret not ready: .*the object has been modified/,
    );
    expect(s.kube.get("secrets", "long-storm-0", SECRET)).toEqual(before);
    const after = await s.review("long-storm-0");
    expect(after.body.response.warnings).toBeUndefined();
    expectNothingLost(s.kube, ["long-storm-0"], now, [s.aws.tokens[0]!.password]);
    expect(authsOf(s.kube, "long-storm-0")![EAST]!.password).toBe(s.aws.tokens[0]!.password);
  });
});

describe("Kubernetes API failing during rotation", () => {
  const writeMetric = async (r: RotationRig | ProxiedRig) =>
    r.deps.metrics.registry.getSingleMetricAsString("ecr_webhook_secret_writes_total");

  it("a conflict storm that fails every namespace: nothing written, the next cycle converges", async () => {
    rig = await startRotationRig();
    const r = rig;
    const names = seedStale(r.kube, "c", 20, r.clock.now());
    const before = names.map((ns) => r.kube.get("secrets", ns, SECRET));
    // Exactly the conflict budget (10 attempts) of every namespace: each one gives up, then it stops.
    r.kube.conflictNext({ times: 200, match: isSecret });
    const stormy = await r.cycle();
    expect(stormy).toMatchObject({ namespaces: 20, refreshed: 0 });
    expect(stormy.failed).toHaveLength(20);
    expect(stormy.failed[0]!.message).toMatch(/conflict|modified/i);
    expect(names.map((ns) => r.kube.get("secrets", ns, SECRET))).toEqual(before);

    const converged = await r.cycle();
    expect(converged).toMatchObject({ namespaces: 20, refreshed: 20, failed: [] });
    expectNothingLost(r.kube, names, r.clock.now(), [r.aws.tokens[0]!.password]);
    for (const ns of names) expect(authsOf(r.kube, ns)![EAST]!.password).toBe(r.aws.tokens[0]!.password);
  });

  it("dropped connections, 503s and a slow server in one cycle: nothing lost, the next cycle converges", async () => {
    rig = await startRotationRig();
    const r = rig;
    const names = seedStale(r.kube, "d", 30, r.clock.now());
    r.kube.setLatency(15);
    r.kube.dropNext({ times: 12, match: (q) => secretWrite(q) && q.verb === "update" });
    r.kube.failNext({ status: 503, times: 12, match: (q) => isSecret(q) && q.verb === "get" });
    const first = await r.cycle();
    expect(first.namespaces).toBe(30);
    expect(first.refreshed + first.failed.length).toBe(30);
    // Every dropped update reached the ensurer as a network failure.
    expect(await writeMetric(r)).toContain(
      'ecr_webhook_secret_writes_total{operation="update",result="network"} 12',
    );
    expectNothingLost(r.kube, names, r.clock.now(), [r.aws.tokens[0]!.password]);

    const second = await r.cycle();
    expect(second).toMatchObject({ namespaces: 30, refreshed: first.failed.length, failed: [], ecrCalls: 0 });
    for (const ns of names) expect(authsOf(r.kube, ns)![EAST]!.password).toBe(r.aws.tokens[0]!.password);
  });

  it("an API server restart in the middle of a cycle: in-flight namespaces fail, nothing is lost, the next cycle converges", async () => {
    const clock = new TestClock();
    rig = await startProxiedRig(clock);
    const r = rig;
    const names = seedStale(r.kube, "r", 30, clock.now());
    let updates = 0;
    let restarting: Promise<void> | undefined;
    // The restart happens while the 8th update is being handled: its connection is reset after the
    // write was stored (the client never hears back), and the others in flight are cut off.
    r.kube.failNext({
      status: 500,
      match: (q) => {
        if (secretWrite(q) && q.verb === "update" && ++updates === 8) restarting = r.proxy.restart(300);
        return false;
      },
    });
    const interrupted = await r.cycle();
    expect(restarting).toBeDefined();
    await restarting;
    expect(r.proxy.restarts()).toBe(1);
    expect(interrupted.namespaces).toBe(30);
    expect(interrupted.failed.length).toBeGreaterThanOrEqual(1);
    expect(interrupted.refreshed + interrupted.failed.length).toBe(30);
    expect(interrupted.failed.map((f) => f.message).join(" ")).toMatch(/ECONNRE(SET|FUSED)|socket hang up/);
    expectNothingLost(r.kube, names, clock.now(), [r.aws.tokens[0]!.password]);

    // Same address, same store: the next cycle finds what was written (even the update whose answer
    // was lost) and refreshes the rest.
    const converged = await r.cycle();
    expect(converged.failed).toEqual([]);
    expect(converged.refreshed + converged.fresh).toBe(30);
    expect(converged.refreshed).toBeLessThan(interrupted.failed.length);
    for (const ns of names) expect(authsOf(r.kube, ns)![EAST]!.password).toBe(r.aws.tokens[0]!.password);
  });

  it("an API server restart under the whole webhook's rotation loop: it converges by itself and admission works on the same address", async () => {
    const now = Date.now();
    let names: string[] = [];
    let updates = 0;
    let restarting: Promise<void> | undefined;
    stack = await startStack({
      proxy: true,
      controller: true,
      argv: ["--leader-elect=false", "--rotation-interval=1s", "--rotation-concurrency=4"],
      kube: { latencyMs: 5 },
      seed: (kube, proxy) => {
        names = seedStale(kube, "w", 30, now);
        kube.failNext({
          status: 500,
          match: (q) => {
            if (secretWrite(q) && q.verb === "update" && ++updates === 8) restarting = proxy!.restart(300);
            return false;
          },
        });
      },
    });
    const s = stack;
    await expect.poll(() => restarting !== undefined, { timeout: 10_000 }).toBe(true);
    await restarting;
    expect(s.proxy!.restarts()).toBe(1);
    const fresh = (ns: string) => Date.parse(expiriesOf(s.kube, ns)[EAST] ?? "0") > Date.now() + 11 * HOUR;
    await expect.poll(() => names.filter(fresh).length, { timeout: 15_000 }).toBe(30);
    expectNothingLost(s.kube, names, now, [s.aws.tokens[0]!.password]);
    // A cycle after that finds everything fresh and fails nothing.
    const clean = (l: any) => l.msg === "rotation cycle finished" && l.namespaces === 30 && l.refreshed === 0;
    await expect.poll(() => s.logs.parsed().some(clean), { timeout: 10_000 }).toBe(true);
    // The namespace watch came back through the same address; a namespace created now is served.
    await expect.poll(() => s.kube.openWatches(), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    s.kube.addNamespace("after-restart", { labels: ENABLED });
    const res = await s.review("after-restart");
    expect(res.body.response.warnings).toBeUndefined();
    expect(patchOf(res.body)).toEqual(REFERENCE_PATCH);
    expect(authsOf(s.kube, "after-restart")![EAST]!.password).toBe(s.aws.tokens[0]!.password);
  });
});
