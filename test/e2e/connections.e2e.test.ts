/**
 * Connections to a real API server, counted on the wire: `refresh` over many namespaces goes
 * through a TCP proxy in front of kube-apiserver that counts what the process opens.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { ENABLED } from "./support/cluster.js";
import { HOUR_MS, seedManagedSecret } from "./support/seed.js";
import { describeE2e, REGISTRY, useSuite } from "./support/suite.js";
import { runCli } from "../support/webhook-process.js";

const NAMESPACES = 60;

describeE2e("one keep-alive connection pool, on a real API server", () => {
  const suite = useSuite({ serveArgs: null });

  it(`refresh over ${NAMESPACES} stale namespaces opens at most --rotation-concurrency connections`, async () => {
    for (let i = 0; i < NAMESPACES; i++) {
      const namespace = await suite.namespace(`pool${i}`, { labels: { ...ENABLED } });
      await seedManagedSecret(suite.cluster, namespace, [REGISTRY], new Date(Date.now() - HOUR_MS));
    }
    const kubeconfig = JSON.parse(readFileSync(suite.kubeconfig, "utf8"));
    const server = new URL(kubeconfig.clusters[0].cluster.server as string);
    const proxy = await startTcpProxy(Number(server.port));
    try {
      kubeconfig.clusters[0].cluster.server = `https://127.0.0.1:${proxy.port}`;
      const proxied = join(suite.cluster.runDir, "through-proxy.kubeconfig");
      writeFileSync(proxied, JSON.stringify(kubeconfig), { mode: 0o600 });
      const result = await runCli(["refresh", "--rotation-concurrency=16"], {
        kubeconfig: proxied,
        aws: suite.aws,
      });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const refreshed = Number(/(\d+) refreshed/.exec(result.stdout)?.[1]);
      expect(refreshed).toBeGreaterThanOrEqual(NAMESPACES);
      console.log(
        `e2e connections: refresh of ${refreshed} namespaces opened ${proxy.accepted()} connections`,
      );
      expect(proxy.accepted()).toBeLessThanOrEqual(16);
    } finally {
      await proxy.close();
    }
  });
});
