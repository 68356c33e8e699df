import { parseCommandLine } from "../config/command-line.js";
import { rotationDeps } from "../controller/controller.js";
import { logSummary, runRotationCycle, type CycleSummary } from "../controller/rotation.js";
import { loadKubeConfig } from "../kube/kube-config.js";
import { createLogger } from "../log/logger.js";
import { createMetrics } from "../metrics/metrics.js";
import { createCredentials } from "../secrets/credentials.js";

/**
 * `ecr-webhook refresh`: one rotation cycle against the current cluster, then exit. 0 when every
 * managed Secret is fresh, 1 with a line per failed namespace otherwise (a CronJob fallback).
 */
export async function runRefresh(argv: string[], out: (text: string) => void = console.log): Promise<number> {
  const { config } = parseCommandLine("refresh", argv, process.env);
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel);
  const kubeConfig = loadKubeConfig();
  const metrics = createMetrics();
  const credentials = createCredentials(config, kubeConfig, { logger, metrics });
  const summary = await runRotationCycle(rotationDeps({ config, kubeConfig, credentials, logger, metrics }));
  logSummary(logger, summary);
  out(renderSummary(summary));
  return summary.failed.length === 0 ? 0 : 1;
}

export function renderSummary(summary: CycleSummary): string {
  const lines = summary.failed.map((f) => `✗ ${f.namespace}: ${f.message}`);
  const age =
    summary.oldestTokenAgeSeconds === undefined
      ? "n/a"
      : `${(summary.oldestTokenAgeSeconds / 3600).toFixed(1)}h`;
  lines.push(
    `${summary.failed.length === 0 ? "✓" : "✗"} ${summary.namespaces} enabled namespaces: ${summary.refreshed} refreshed, ` +
      `${summary.fresh} already fresh, ${summary.absent} without a Secret yet, ${summary.failed.length} failed ` +
      `(${summary.ecrCalls} ECR calls, ${summary.durationMs} ms, oldest token ${age})`,
  );
  return lines.join("\n");
}
