/**
 * Which Kubernetes client a rotation cycle needs, on the real API server: the same cycle over the
 * same 1,000 stale namespaces with client-node alone, with the webhook's connection pool under
 * client-node's generated API, and as shipped (pool and JSON client), in turns, each through a TCP
 * proxy that counts the connections it opens. `BENCH_ONLY=clients npm run bench`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AwsStandIn } from "../../test/support/aws/index.js";
import { startTcpProxy } from "../../test/support/tcp-proxy.js";
import { spawnWebhook } from "../../test/support/webhook-process.js";
import { names } from "../lib/reviews.js";
import { RUNTIME_FLAGS } from "../lib/runtime-flags.js";
import type { Row } from "../lib/stats.js";
import type { WorkDir } from "../lib/workdir.js";
import { CLIENT_VARIANTS, type ClientVariant } from "./client-variant.js";
import { withRealCluster, type RealCluster } from "./cluster.js";
import { createNamespaces, REAL, seedStale } from "./scenarios.js";

const ROUNDS = 2;
const ENTRY = join(import.meta.dirname, "..", "procs", "rotation-client.js");

interface VariantFigures {
  variant: ClientVariant;
  connections: number;
  cycleMs: number;
  cpuMs: number;
  refreshed: number;
  failed: number;
}

export type ClientVariantsResult =
  | { skipped: string }
  | { kubernetes: string; namespaces: number; concurrency: number; runs: VariantFigures[] };

async function once(work: WorkDir, cluster: RealCluster, aws: AwsStandIn, variant: ClientVariant) {
  const proxy = await startTcpProxy(Number(new URL(cluster.state.server).port));
  const kubeconfig = JSON.parse(readFileSync(cluster.webhookKubeconfig, "utf8"));
  kubeconfig.clusters[0].cluster.server = `https://127.0.0.1:${proxy.port}`;
  const file = work.file(`clients-${variant}.kubeconfig`);
  writeFileSync(file, JSON.stringify(kubeconfig), { mode: 0o600 });
  const child = spawnWebhook([variant, `--rotation-concurrency=${REAL.concurrency}`, "--log-level=warn"], {
    bundle: ENTRY,
    kubeconfig: file,
    aws,
    nodeFlags: RUNTIME_FLAGS,
  });
  const { code } = await child.exit;
  const connections = proxy.accepted();
  await proxy.close();
  const out = child.stdout();
  if (code !== 0)
    throw new Error(`rotation with the ${variant} client exited ${code}: ${child.stderr().slice(-500)}`);
  const figures = JSON.parse(out.trim().split("\n").at(-1)!) as Omit<VariantFigures, "connections">;
  return { ...figures, connections };
}

export async function clientVariants(
  work: WorkDir,
  step: (text: string) => void,
): Promise<ClientVariantsResult> {
  return withRealCluster(work, async (cluster, aws) => {
    const namespaces = names("clients-", REAL.clientNamespaces);
    await createNamespaces(cluster, namespaces, true);
    const runs: VariantFigures[] = [];
    for (let round = 0; round < ROUNDS; round++)
      for (const variant of CLIENT_VARIANTS) {
        step(`clients: round ${round + 1}, ${variant}`);
        await seedStale(cluster, namespaces);
        runs.push(await once(work, cluster, aws, variant));
      }
    return {
      kubernetes: cluster.version,
      namespaces: namespaces.length,
      concurrency: REAL.concurrency,
      runs,
    };
  });
}

export function clientVariantRows(r: ClientVariantsResult): Row[] {
  if ("skipped" in r) return [{ scenario: "clients", figure: "skipped", value: r.skipped, unit: "" }];
  const s = `clients (${r.kubernetes}, ${r.namespaces} ns, ${r.concurrency} in flight)`;
  const best = (variant: ClientVariant) =>
    r.runs.filter((run) => run.variant === variant).sort((a, b) => a.cycleMs - b.cycleMs)[0]!;
  const shipped = best("shipped");
  return CLIENT_VARIANTS.flatMap((variant) => {
    const b = best(variant);
    return [
      { scenario: s, figure: `${variant}: connections`, value: b.connections, unit: "" },
      { scenario: s, figure: `${variant}: cycle (best of ${ROUNDS})`, value: b.cycleMs, unit: "ms" },
      { scenario: s, figure: `${variant}: CPU of the process`, value: Math.round(b.cpuMs), unit: "ms" },
      {
        scenario: s,
        figure: `${variant}: CPU ÷ shipped`,
        value: Number((b.cpuMs / shipped.cpuMs).toFixed(2)),
        unit: "×",
      },
    ];
  });
}
