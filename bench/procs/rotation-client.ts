/**
 * One rotation cycle, as `ecr-webhook refresh` runs it, with a chosen Kubernetes client (see
 * client-variant.ts). Prints one JSON line: the cycle's figures and this process's CPU time.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { parseCommandLine } from "../../src/config/command-line.js";
import { rotationDeps } from "../../src/controller/controller.js";
import { runRotationCycle } from "../../src/controller/rotation.js";
import { loadKubeConfig } from "../../src/kube/kube-config.js";
import { PooledKubeConfig } from "../../src/kube/pooled-kube-config.js";
import { createLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { createCredentials } from "../../src/secrets/credentials.js";
import { CLIENT_VARIANTS, type ClientVariant } from "../apiserver/client-variant.js";
import { typedSecretStore } from "../apiserver/typed-secret-store.js";

async function main(variant: ClientVariant, argv: string[]): Promise<void> {
  const { config } = parseCommandLine("refresh", argv, process.env);
  const logger = createLogger("warn");
  const metrics = createMetrics();
  let kubeConfig: KubeConfig = loadKubeConfig();
  if (variant === "typed") {
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
  }
  const store = variant === "shipped" ? undefined : typedSecretStore(kubeConfig);
  const credentials = createCredentials(config, kubeConfig, { logger, metrics, store });
  const cpu = process.cpuUsage();
  const summary = await runRotationCycle(rotationDeps({ config, kubeConfig, credentials, logger, metrics }));
  const used = process.cpuUsage(cpu);
  if (kubeConfig instanceof PooledKubeConfig) kubeConfig.closeConnections();
  console.log(
    JSON.stringify({
      variant,
      refreshed: summary.refreshed,
      failed: summary.failed.length,
      cycleMs: summary.durationMs,
      cpuMs: (used.user + used.system) / 1000,
    }),
  );
}

const [variant, ...argv] = process.argv.slice(2);
if (!CLIENT_VARIANTS.includes(variant as ClientVariant)) {
  console.error(`usage: rotation-client.js <${CLIENT_VARIANTS.join("|")}> [refresh flags]`);
  process.exit(2);
}
main(variant as ClientVariant, argv).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
