/**
 * One keep-alive pool for every Kubernetes call, counted on a real socket: a TCP proxy in front of
 * the stand-in counts the connections the client opens.
 */
import { CoreV1Api, HttpMethod, RequestContext } from "@kubernetes/client-node";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "undici";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runRotationCycle } from "../../src/controller/rotation.js";
import { createNamespaceCache } from "../../src/kube/namespace-cache.js";
import { MAX_API_SOCKETS, PooledKubeConfig } from "../../src/kube/pooled-kube-config.js";
import { silentLogger } from "../../src/log/logger.js";
import { startAwsStandIn, type AwsStandIn } from "../support/aws/index.js";
import { useAwsEndpoints } from "../support/aws-env.js";
import { testConfig } from "../support/fixtures.js";
import { ENABLED } from "../support/harness.js";
import { startKubeApi, type KubeApiStandIn } from "../support/kube-api/index.js";
import { managedSecret } from "../support/managed-secret.js";
import { rotationDepsFor } from "../support/rotation-rig.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
let kube: KubeApiStandIn | undefined;
let aws: AwsStandIn | undefined;
let proxy: TcpProxy | undefined;
let restore: (() => void) | undefined;
afterEach(async () => {
  await proxy?.close();
  await kube?.close();
  await aws?.close();
  restore?.();
  kube = aws = proxy = restore = undefined;
  vi.useRealTimers();
});

function pooled(url: string, token = "test-token", ca?: string): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: url, skipTLSVerify: true, ...(ca ? { caData: ca } : {}) }],
    users: [{ name: "u", token }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

describe("one connection pool per process", () => {
  it("a rotation cycle over 60 namespaces opens at most --rotation-concurrency connections", async () => {
    kube = await startKubeApi();
    aws = await startAwsStandIn();
    restore = useAwsEndpoints(aws);
    proxy = await startTcpProxy(Number(new URL(kube.url).port));
    for (let i = 0; i < 60; i++) {
      kube.addNamespace(`ns-${i}`, { labels: ENABLED });
      kube.put(
        "secrets",
        `ns-${i}`,
        managedSecret(`ns-${i}`, { [EAST]: "old" }, new Date(Date.now() - 1_000)),
      );
    }
    const config = testConfig(["--rotation-concurrency=16"]);
    const kc = pooled(proxy.url);
    const summary = await runRotationCycle(rotationDepsFor(kc, config, Date.now).deps);
    expect(summary).toMatchObject({ namespaces: 60, refreshed: 60, failed: [] });
    // A namespace list, a Secret list and 60 PUTs, over at most 16 connections (without the pool: one each).
    expect(kube.count((r) => r.resource === "secrets" || r.resource === "namespaces")).toBe(62);
    expect(proxy.accepted()).toBeLessThanOrEqual(16);
    kc.closeConnections();
  });

  it("watches share it too, and keep working", async () => {
    kube = await startKubeApi();
    proxy = await startTcpProxy(Number(new URL(kube.url).port));
    const kc = pooled(proxy.url);
    const cache = createNamespaceCache(kc, silentLogger(), { retryBaseMs: 20 });
    await cache.start();
    for (let i = 0; i < 20; i++)
      await kc
        .makeApiClient(CoreV1Api)
        .readNamespace({ name: "default" })
        .catch(() => undefined);
    kube.addNamespace("later", { labels: ENABLED });
    await expect
      .poll(async () => (await cache.get("later"))?.labels["ecr-webhook.io/inject"])
      .toBe("enabled");
    // One for the watch, one for everything else, sequentially, and the spare undici opens while it
    // checks an idle connection for a pending close before reusing it.
    expect(proxy.accepted()).toBeLessThanOrEqual(3);
    await cache.stop();
    kc.closeConnections();
  });

  it("the same TLS identity shares a pool; another CA or client certificate gets its own", async () => {
    const agentOf = async (kc: PooledKubeConfig) => {
      const context = new RequestContext("https://127.0.0.1:6443/api", HttpMethod.GET);
      await kc.applySecurityAuthentication(context);
      return context.getDispatcher();
    };
    const ca = (text: string) => Buffer.from(text).toString("base64");
    const a = pooled("https://127.0.0.1:6443", "t", ca("ca-one"));
    expect(await agentOf(a)).toBe(await agentOf(a));
    const b = pooled("https://127.0.0.1:6443", "t", ca("ca-two"));
    expect(await agentOf(b)).not.toBe(await agentOf(a));
    expect(await agentOf(a)).toBeInstanceOf(Agent);
  });

  it(`a burst of requests shares at most ${MAX_API_SOCKETS} connections`, async () => {
    kube = await startKubeApi();
    kube.addNamespace("burst");
    proxy = await startTcpProxy(Number(new URL(kube.url).port));
    const kc = pooled(proxy.url);
    const api = kc.makeApiClient(CoreV1Api);
    await Promise.all(Array.from({ length: 200 }, () => api.readNamespace({ name: "burst" })));
    expect(proxy.accepted()).toBeGreaterThan(1);
    expect(proxy.accepted()).toBeLessThanOrEqual(MAX_API_SOCKETS);
    kc.closeConnections();
  });

  it("credentials stay per request: a rotated token file is read again, over the same pool", async () => {
    // In a cluster the token is a projected file the kubelet rewrites; client-node re-reads it after 60 s.
    const file = join(mkdtempSync(join(tmpdir(), "pool-")), "token");
    writeFileSync(file, "first-token");
    const kc = new PooledKubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: "https://127.0.0.1:6443", skipTLSVerify: true }],
      users: [{ name: "u", authProvider: { name: "tokenFile", config: { tokenFile: file } } }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    const send = async () => {
      const context = new RequestContext("https://127.0.0.1:6443/api", HttpMethod.GET);
      await kc.applySecurityAuthentication(context);
      return { auth: context.getHeaders()["Authorization"], agent: context.getDispatcher() };
    };
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const first = await send();
    writeFileSync(file, "second-token");
    vi.setSystemTime(Date.now() + 61_000);
    const second = await send();
    expect(first.auth).toBe("Bearer first-token");
    expect(second.auth).toBe("Bearer second-token");
    expect(second.agent).toBe(first.agent);
    kc.closeConnections();
  });
});
