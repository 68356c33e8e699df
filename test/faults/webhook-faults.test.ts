/**
 * Faults of the webhook itself: its serving certificate swapped under load, SIGTERM under load, and
 * the leader killed in the middle of a rotation cycle. SIGTERM and the kill are real signals to a
 * real process: the CLI (src/cli.ts serve) and a replica (test/support/replica-main.ts) run in child
 * processes through test/support/child-node.ts.
 */
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { startWebhook, type RunningWebhook } from "../../src/commands/serve.js";
import { LEASE_NAME } from "../../src/controller/controller.js";
import { createLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { issueServingBundle } from "../../src/tls/issue.js";
import { startAwsStandIn, type AwsStandIn } from "../support/aws/index.js";
import { useAwsEndpoints } from "../support/aws-env.js";
import { spawnTs, type TsChild } from "../support/child-node.js";
import {
  EAST,
  OTHER,
  REFERENCE_PATCH,
  authsOf,
  childEnvironment,
  expiriesOf,
  patchOf,
  podReview,
  seedPullSecret,
} from "../support/fault-stack.js";
import { loadReviewText, testConfig } from "../support/fixtures.js";
import { ENABLED, LogCapture } from "../support/harness.js";
import { httpsRequest } from "../support/https-client.js";
import { startKubeApi } from "../support/kube-api/index.js";
import { HOUR } from "../support/rotation-rig.js";
import { issueLocalBundle, startTestWebhook, type TestWebhook } from "../support/webhook.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Answer {
  status: number;
  fingerprint: string;
  startedAt: number;
  body: string;
}

/** One review over HTTPS, reporting which certificate the server presented. */
function post(port: number, ca: string[], body: string, agent: Agent | false): Promise<Answer> {
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        servername: "localhost",
        port,
        path: "/mutate?timeout=5s",
        method: "POST",
        ca,
        agent,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            fingerprint,
            startedAt,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("certificate swap under load", () => {
  it("zero failed requests; new connections get the new certificate, established ones keep working", async () => {
    const webhook: TestWebhook = await startTestWebhook();
    cleanups.push(() => webhook.close());
    // The next CA has a subject of its own, as it must to share a caBundle with the current one.
    const next = await issueServingBundle({
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
      validityDays: 1,
      // Judged by the TLS stacks of this process, which read the real clock.
      now: new Date(),
      caCommonName: "ecr-webhook-ca-next",
    });
    // The API server's caBundle holds both CAs while the certificate is rotated.
    const ca = [webhook.ca, next.ca.cert];
    const oldPrint = new X509Certificate(await readFile(webhook.certFile)).fingerprint256;
    const newPrint = new X509Certificate(next.serving.cert).fingerprint256;
    const body = loadReviewText("pod-create-ecr.json");
    const answers: { answer?: Answer; error?: string; fresh: boolean }[] = [];
    let stop = false;
    const worker = async (agent: Agent | false) => {
      for (let i = 0; i < 2_000 && !stop; i++) {
        try {
          answers.push({ answer: await post(webhook.port, ca, body, agent), fresh: agent === false });
        } catch (error) {
          answers.push({ error: String(error), fresh: agent === false });
        }
      }
    };
    const agents = [1, 2, 3].map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
    cleanups.push(() => agents.forEach((a) => a.destroy()));
    const load = Promise.all([worker(false), worker(false), worker(false), ...agents.map(worker)]);

    await expect.poll(() => answers.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(30);
    // As the certificate Job (or kubelet) writes them: the certificate first, a moment with a
    // mismatched pair (which must be refused, keeping the old one), then the key.
    await writeFile(webhook.certFile, next.serving.cert);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await writeFile(webhook.keyFile, next.serving.key);
    await expect
      .poll(() => answers.find((a) => a.fresh && a.answer?.fingerprint === newPrint), { timeout: 10_000 })
      .toBeDefined();
    const swappedAt = Date.now();
    const countAtSwap = answers.length;
    await expect.poll(() => answers.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(countAtSwap + 60);
    stop = true;
    await load;

    expect(answers.length).toBeGreaterThanOrEqual(90);
    expect(answers.filter((a) => a.error !== undefined || a.answer?.status !== 200)).toEqual([]);
    const prints = new Set(answers.map((a) => a.answer!.fingerprint));
    expect(prints).toEqual(new Set([oldPrint, newPrint]));
    // Every review was answered properly, whichever certificate carried it.
    for (const { answer } of answers) expect(patchOf(JSON.parse(answer!.body))).toEqual(REFERENCE_PATCH);
    // A connection opened after the swap was seen never gets the old certificate.
    const late = answers.filter((a) => a.fresh && a.answer!.startedAt > swappedAt);
    expect(late.length).toBeGreaterThan(0);
    for (const a of late) expect(a.answer!.fingerprint).toBe(newPrint);
    // Connections kept alive from before the swap still carry the old one, and kept working.
    expect(
      answers.some((a) => !a.fresh && a.answer!.startedAt > swappedAt && a.answer!.fingerprint === oldPrint),
    ).toBe(true);
  });
});

/** The stand-ins and a temp directory for a webhook in a child process. */
async function standIns() {
  const kube = await startKubeApi();
  const aws = await startAwsStandIn();
  const dir = await mkdtemp(join(tmpdir(), "ecr-webhook-child-"));
  cleanups.push(async () => {
    await kube.close();
    await aws.close();
  });
  return { kube, aws, dir, ...(await childEnvironment(kube, aws, dir)) };
}

function track(child: TsChild): TsChild {
  cleanups.push(() => child.stop());
  return child;
}

const jsonLines = (lines: string[]) =>
  lines.flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });

const leaked = (lines: string[], aws: AwsStandIn) => {
  const text = lines.join("\n");
  return aws.tokens
    .flatMap((t) => [t.password, Buffer.from(`AWS:${t.password}`).toString("base64")])
    .filter((secret) => text.includes(secret));
};

describe("SIGTERM under load (the CLI in a child process)", () => {
  it("every review in flight is answered; then connections are refused and the process exits 0", async () => {
    const { kube, aws, dir, env } = await standIns();
    const bundle = await issueLocalBundle();
    await writeFile(join(dir, "tls.crt"), bundle.serving.cert);
    await writeFile(join(dir, "tls.key"), bundle.serving.key);
    const inFlight = Array.from({ length: 8 }, (_, i) => `in-flight-${i}`);
    for (const ns of ["warm", ...inFlight]) kube.addNamespace(ns, { labels: ENABLED });
    const cli = track(
      await spawnTs(
        "src/cli.ts",
        [
          "serve",
          "--port=0",
          "--metrics-port=0",
          `--tls-cert-file=${join(dir, "tls.crt")}`,
          `--tls-key-file=${join(dir, "tls.key")}`,
          "--admission-deadline=8s",
          "--leader-elect=false",
          "--rotation-interval=1h",
          "--shutdown-delay=1s",
          "--log-level=info",
        ],
        env,
      ),
    );
    const serving = JSON.parse(await cli.waitForLine((l) => l.includes('"ecr-webhook serving"'), 15_000));
    const port: number = serving.port;
    // The start-up rotation cycle reads Secrets too; let it finish before counting reads.
    await cli.waitForLine((l) => l.includes('"rotation cycle finished"'), 15_000);
    const send = (namespace: string) =>
      httpsRequest({
        port,
        ca: bundle.ca.cert,
        path: "/mutate?timeout=10s",
        body: JSON.stringify(podReview(namespace)),
      });
    expect((await send("warm")).status).toBe(200); // token cached, warm namespace ready

    // Every Secret read and write now takes 1.5 s: reviews of the other namespaces stay in flight.
    kube.setLatency(1_500);
    const mark = kube.requests.length;
    const pending = inFlight.map((ns) => send(ns));
    const inHandler = () =>
      kube.requests
        .slice(mark)
        .filter((r) => r.resource === "secrets" && r.verb === "get" && inFlight.includes(r.namespace ?? ""))
        .length;
    await expect.poll(inHandler, { timeout: 10_000 }).toBe(8);

    // And a stream of warm reviews on new connections, until the server stops accepting.
    const stream: { status?: number; error?: string }[] = [];
    const streamer = async () => {
      for (let i = 0; i < 20_000; i++) {
        try {
          stream.push({ status: (await send("warm")).status });
        } catch (error) {
          stream.push({ error: (error as NodeJS.ErrnoException).code ?? String(error) });
          return;
        }
      }
    };
    const streaming = Promise.all([streamer(), streamer()]);
    await expect.poll(() => stream.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(10);

    cli.child.kill("SIGTERM");
    const answers = await Promise.all(pending);
    kube.setLatency(0);
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    for (const a of answers) {
      expect(patchOf(a.json())).toEqual(REFERENCE_PATCH);
      expect(a.json().response.warnings).toBeUndefined(); // the Secret was confirmed, not abandoned
    }
    for (const ns of inFlight) expect(authsOf(kube, ns)?.[EAST]).toBeDefined();

    await streaming;
    const answered = stream.filter((s) => s.status !== undefined);
    expect(answered.length).toBeGreaterThanOrEqual(10);
    expect(answered.every((s) => s.status === 200)).toBe(true);
    // The streams end at a refused (or, racing the close, reset) connection, never at an HTTP error.
    for (const s of stream.filter((s) => s.error)) expect(s.error).toMatch(/ECONNREFUSED|ECONNRESET|EPIPE/);
    await expect(send("warm")).rejects.toThrow(/ECONNREFUSED/);

    const exit = await Promise.race([
      cli.exit,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000)),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
    const messages = jsonLines(cli.stdout).map((l) => l.msg);
    expect(messages).toContain("shutting down: not ready, serving until endpoints let go, then draining");
    expect(messages.at(-1)).toBe("stopped");
    expect(leaked([...cli.stdout, ...cli.stderr], aws)).toEqual([]);
  });
});

describe("leader killed in the middle of a rotation cycle", () => {
  it("the follower takes the Lease and finishes the cycle's work; nothing is lost", async () => {
    const { kube, aws, kubeconfig, env } = await standIns();
    kube.addNamespace("ecr-webhook");
    const now = Date.now();
    const names = Array.from({ length: 40 }, (_, i) => `lead-${i}`);
    for (const ns of names) {
      seedPullSecret(kube, ns, {
        [EAST]: { password: `stale-${ns}`, expiresAt: new Date(now + 1 * HOUR) },
        [OTHER]: { password: `other-${ns}`, expiresAt: new Date(now + 10 * HOUR) },
      });
    }
    const leaseTiming = { leaseDurationMs: 2_000, renewDeadlineMs: 1_400, retryPeriodMs: 100 };
    const argv = [
      "--port=0",
      "--metrics-port=0",
      "--rotation-interval=1h",
      "--rotation-concurrency=2",
      "--log-level=info",
    ];
    // Slow enough that the leader's cycle is well under way, not finished, at its 10th update.
    kube.setLatency(40);
    let updatesBeforeKill = 0;
    kube.failNext({
      status: 500,
      match: (r) => {
        if (r.resource === "secrets" && r.verb === "update" && ++updatesBeforeKill === 10)
          leader.child.kill("SIGKILL");
        return false;
      },
    });
    const leader: TsChild = track(
      await spawnTs("test/support/replica-main.ts", [], {
        ...env,
        POD_NAMESPACE: "ecr-webhook",
        ECR_WEBHOOK_REPLICA: JSON.stringify({ argv, identity: "replica-a", leaseTiming, kubeconfig }),
      }),
    );
    const holder = () => (kube.get("leases", "ecr-webhook", LEASE_NAME) as any)?.spec?.holderIdentity;
    await expect.poll(holder, { timeout: 15_000 }).toBe("replica-a");

    // The follower: the same build, in this process, so the test can watch it.
    const restoreEnv = useAwsEndpoints(aws);
    const logs = new LogCapture();
    const follower: RunningWebhook = await startWebhook({
      config: testConfig(argv, { POD_NAMESPACE: "ecr-webhook" }),
      logger: createLogger("info", logs),
      kubeConfig: kube.kubeConfig(),
      metrics: createMetrics(),
      host: "127.0.0.1",
      identity: "replica-b",
      leaseTiming,
    });
    cleanups.push(async () => {
      await follower.close();
      restoreEnv();
    });

    const killed = await leader.exit;
    expect(killed.signal).toBe("SIGKILL");
    expect(updatesBeforeKill).toBeGreaterThanOrEqual(10);
    const fresh = (ns: string) => Date.parse(expiriesOf(kube, ns)[EAST] ?? "0") > Date.now() + 11 * HOUR;
    expect(names.filter(fresh).length).toBeLessThan(names.length); // killed mid-cycle

    await expect.poll(() => follower.isLeader(), { timeout: 10_000 }).toBe(true);
    expect(holder()).toBe("replica-b");
    await expect.poll(() => names.filter(fresh).length, { timeout: 15_000 }).toBe(40);
    const summary = logs.parsed().find((l) => l.msg === "rotation cycle finished");
    expect(summary).toMatchObject({ namespaces: 40, failed: 0 });
    expect(summary.refreshed).toBeGreaterThan(0);
    expect(summary.refreshed).toBeLessThanOrEqual(40 - 9);

    const issued = aws.tokens.map((t) => t.password);
    for (const ns of names) {
      const auths = authsOf(kube, ns)!;
      expect(Object.keys(auths).sort()).toEqual([EAST, OTHER].sort());
      expect(auths[OTHER]!.password).toBe(`other-${ns}`);
      expect(issued).toContain(auths[EAST]!.password);
    }
    expect(leaked([...leader.stdout, ...logs.lines], aws)).toEqual([]);
  });
});
