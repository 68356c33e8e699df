/**
 * Rollouts and restarts under load, as an operator sees them: two replicas behind a
 * readiness-aware balancer (a Service with kube-proxy), pods created through the API server at
 * ~200/s. The API server's own log is the judge of failed webhook calls; every pod it stored must
 * carry the reference (--patch-service-accounts=false, so no ServiceAccount can hide a miss).
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { spawnTs } from "../support/child-node.js";
import { freePort } from "../support/free-port.js";
import { startBalancer, type Balancer } from "./support/balancer.js";
import { ENABLED } from "./support/cluster.js";
import { ADMIN_TOKEN, loadState, type ControlPlaneState } from "../support/control-plane/control-plane.js";
import { environment } from "./support/environment.js";
import { registerWebhook, waitUntilCalled } from "./support/install.js";
import { describeE2e, REGISTRY, SECRET, useSuite, type Suite } from "./support/suite.js";
import type { ServeProcess } from "../support/webhook-process.js";

const PODS_PER_SECOND = 200;
/** How long a replica keeps serving after SIGTERM: a few of the balancer's readiness checks. */
const SHUTDOWN_DELAY = "2s";
const LEASE = { namespace: "ecr-webhook", name: "ecr-webhook-leader" };

/** Lines of the API server's log, from `offset` on, where it gave up on the webhook. */
function failedCalls(log: string, offset: number): string[] {
  return readFileSync(log, "utf8")
    .slice(offset)
    .split("\n")
    .filter((line) =>
      /failing open .*ecr-webhook\.io|failed calling webhook "[a-z]+\.ecr-webhook\.io"/.test(line),
    );
}

interface Rig {
  readonly replicas: ServeProcess[];
  readonly balancer: Balancer;
  restart(index: number): Promise<void>;
  close(): Promise<void>;
}

/** Two replicas on fixed ports behind the balancer, registered with the API server. */
async function startRig(suite: Suite): Promise<Rig> {
  const ports = [await freePort(), await freePort()];
  const args = ["--patch-service-accounts=false", `--shutdown-delay=${SHUTDOWN_DELAY}`, "--log-level=info"];
  const start = async (port: number) => {
    const serve = await suite.startServe(args, { port });
    await serve.waitReady();
    return serve;
  };
  const replicas = [await start(ports[0]!), await start(ports[1]!)];
  const balancer = await startBalancer(ports, suite.tls.bundle.ca.cert);
  await registerWebhook(suite.cluster, `https://127.0.0.1:${balancer.port}`, suite.tls.bundle.ca.cert);
  await waitUntilCalled(suite.cluster, suite.probeNamespace);
  return {
    replicas,
    balancer,
    async restart(index) {
      const exit = await replicas[index]!.stop();
      expect(exit.code).toBe(0);
      replicas[index] = await start(ports[index]!);
    },
    async close() {
      for (const replica of replicas) await replica.stop();
      await balancer.close();
    },
  };
}

interface LoadSummary {
  created: number;
  refused: number;
  failed: number;
  seconds: number;
}

/** Runs `during` while a client creates pods in `namespace`; then what the API server stored and logged. */
async function underLoad(
  suite: Suite,
  state: ControlPlaneState,
  namespace: string,
  during: () => Promise<void>,
) {
  const offset = statSync(state.apiServerLog).size;
  const load = await spawnTs("test/e2e/support/pod-load-main.ts", [], {
    ECR_WEBHOOK_LOAD: JSON.stringify({
      server: state.server,
      caFile: join(state.dir, "ca.crt"),
      token: ADMIN_TOKEN,
      namespace,
      image: `${REGISTRY}/app:1`,
      perSecond: PODS_PER_SECOND,
      workers: 8,
    }),
  });
  await load.waitForLine((line) => line.includes('"started"'), 10_000);
  await sleep(2_000);
  await during();
  await sleep(2_000);
  load.child.kill("SIGTERM");
  const summary = JSON.parse(
    await load.waitForLine((line) => line.includes('"created"'), 60_000),
  ) as LoadSummary;
  const failures = failedCalls(state.apiServerLog, offset);
  const pods = (await suite.cluster.core.listNamespacedPod({ namespace, labelSelector: "load=true" })).items;
  const unreviewed = pods.filter((pod) => !(pod.spec?.imagePullSecrets ?? []).some((r) => r.name === SECRET));
  return { summary, failures, pods, unreviewed, rate: summary.created / summary.seconds };
}

describeE2e("zero-downtime rollouts on a real API server", () => {
  const suite = useSuite({ serveArgs: null });
  const state = () => loadState(environment().controlPlaneDir!);

  it("rolling restarts of both replicas under load lose no review, and leadership moves at once", async (context) => {
    if (!environment().controlPlaneDir) context.skip();
    const namespace = await suite.namespace("rollout", { labels: { ...ENABLED } });
    const rig = await startRig(suite);
    const handovers: number[] = [];
    try {
      const result = await underLoad(suite, state(), namespace, async () => {
        for (let round = 0; round < 3; round++) {
          for (const i of [0, 1]) {
            const leading = (await rig.replicas[i]!.metric("ecr_webhook_leader")) === 1;
            const stopping = Date.now();
            const before = (await suite.cluster.coordination.readNamespacedLease(LEASE)).spec?.holderIdentity;
            await rig.restart(i);
            if (leading) {
              // Handed back at SIGTERM: the other replica holds it by the time this one is back.
              await expect
                .poll(
                  async () =>
                    (await suite.cluster.coordination.readNamespacedLease(LEASE)).spec?.holderIdentity,
                  {
                    timeout: 10_000,
                  },
                )
                .not.toMatch(new RegExp(`^(${before ?? "-"}|)$`));
              handovers.push(Date.now() - stopping);
            }
            await sleep(1_500);
          }
        }
      });
      console.log(
        `e2e rollout: 6 restarts, ${result.summary.created} pods in ${result.summary.seconds.toFixed(1)} s (${result.rate.toFixed(0)}/s), ` +
          `${result.failures.length} failed webhook calls, ${result.unreviewed.length} pods without the reference, ` +
          `${result.summary.refused + result.summary.failed} creates not accepted, ${rig.balancer.stats.noBackend} connections with no ready replica; ` +
          `leadership moved within ${handovers.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(", ")} of SIGTERM`,
      );
      expect(result.failures.slice(0, 5)).toEqual([]);
      expect(result.unreviewed.map((p) => p.metadata?.name)).toEqual([]);
      expect(result.pods.length).toBe(result.summary.created);
      expect(result.summary.refused + result.summary.failed).toBe(0);
      // Enough load that a lost review would show (thousands of pods across six restarts); how fast
      // it comes depends on the machine, so the count is judged, not the rate.
      expect(result.summary.created).toBeGreaterThanOrEqual(1_000);
      expect(handovers.length).toBeGreaterThanOrEqual(2);
      // A restart takes the shutdown delay plus a start; the Lease moved within that, not a lease duration later.
      for (const ms of handovers) expect(ms).toBeLessThan(15_000);
    } finally {
      await rig.close();
    }
  }, 240_000);

  it("an API server restart under load: every pod it accepted was reviewed", async (context) => {
    if (!environment().controlPlaneDir) context.skip();
    const namespace = await suite.namespace("apiserver-restart", { labels: { ...ENABLED } });
    const rig = await startRig(suite);
    try {
      const result = await underLoad(suite, state(), namespace, () => suite.cluster.restartApiServer());
      console.log(
        `e2e API server restart: ${result.summary.created} pods accepted, ${result.summary.refused + result.summary.failed} creates not accepted during the restart, ` +
          `${result.failures.length} failed webhook calls, ${result.unreviewed.length} accepted pods without the reference`,
      );
      expect(result.unreviewed.map((p) => p.metadata?.name)).toEqual([]);
      expect(result.failures.slice(0, 5)).toEqual([]);
      // A create whose answer was lost to the restart may still have been stored: at least as many.
      expect(result.pods.length).toBeGreaterThanOrEqual(result.summary.created);
    } finally {
      await rig.close();
    }
  }, 240_000);
});
