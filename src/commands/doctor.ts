import type { KubeConfig } from "@kubernetes/client-node";
import { describeFailure } from "../certs/failure.js";
import { parseCommandLine } from "../config/command-line.js";
import { ConfigError, type Config } from "../config/config.js";
import { createTokenSource } from "../ecr/token-source.js";
import { loadKubeConfig } from "../kube/kube-config.js";
import { createLogger } from "../log/logger.js";
import { createMetrics } from "../metrics/metrics.js";
import { checkApiServer, checkRegistration, type CheckResult } from "./doctor-checks.js";
import { checkLeader } from "./doctor-leader.js";
import { checkUnreviewedPods } from "./doctor-pods.js";
import { checkRbac } from "./doctor-rbac.js";
import { checkEcr, checkNamespaces, checkTokens, type Registry } from "./doctor-tokens.js";

const RBAC_FIX =
  "let this identity create selfsubjectaccessreviews (and, with --as-service-account, impersonate that ServiceAccount)";
const ADMIN_FIX = "run doctor as an identity that may read the webhook's objects (e.g. a cluster admin)";

export function renderCheck(result: CheckResult): string {
  return result.ok ? `✓ ${result.line}` : `✗ ${result.line}${result.fix ? ` — fix: ${result.fix}` : ""}`;
}

/** A check that throws is a ✗ line of its own; the others still run. */
async function guarded<T>(what: string, fix: string, check: () => Promise<T>): Promise<T | CheckResult> {
  try {
    return await check();
  } catch (error) {
    return { ok: false, line: describeFailure(what, error).replace(/\.$/, ""), fix };
  }
}

/** In order; after an unreachable API server the rest would only repeat its failure. */
async function clusterChecks(
  kc: KubeConfig,
  config: Config,
  report: (results: CheckResult | CheckResult[]) => void,
): Promise<Registry[]> {
  const api = await checkApiServer(kc);
  report(api);
  if (!api.ok) return [];
  report(await guarded("Checking RBAC", RBAC_FIX, () => checkRbac(kc, config)));
  report(
    await guarded("Checking the webhook registration", ADMIN_FIX, () =>
      checkRegistration(kc, config, new Date()),
    ),
  );
  report(await guarded("Reading the leader Lease", ADMIN_FIX, () => checkLeader(kc, config, new Date())));
  const enabled = await guarded("Listing enabled namespaces", ADMIN_FIX, () => checkNamespaces(kc, config));
  if ("ok" in enabled) {
    report(enabled);
    return [];
  }
  report(enabled.result);
  const tokens = await checkTokens(kc, config, enabled.namespaces, Date.now());
  report(tokens.results);
  report(
    await guarded("Listing pods of enabled namespaces", ADMIN_FIX, () =>
      checkUnreviewedPods(kc, config, enabled.metas),
    ),
  );
  return tokens.registries;
}

/**
 * `ecr-webhook doctor`: checks against the live cluster and AWS, in order, one line each; exit 1
 * when any is ✗. Cluster checks stop after an unreachable API server; the ECR check still runs.
 */
export async function runDoctor(argv: string[], out: (text: string) => void = console.log): Promise<number> {
  const { config } = parseCommandLine("doctor", argv, process.env);
  // The report is the output; log lines (token source warnings) would only repeat it.
  const logger = createLogger(config.logLevel === "info" ? "error" : config.logLevel);
  let failures = 0;
  const report = (results: CheckResult | CheckResult[]) => {
    for (const result of [results].flat()) {
      if (!result.ok) failures += 1;
      out(renderCheck(result));
    }
  };

  let kc: KubeConfig | undefined;
  try {
    kc = loadKubeConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    report({ ok: false, line: error.message });
  }
  const found = kc ? await clusterChecks(kc, config, report) : [];
  const tokens = createTokenSource({
    minTokenTtlMs: config.minTokenTtlMs,
    callTimeoutMs: config.awsCallTimeoutMs,
    accountRoles: config.accountRoles,
    logger,
    metrics: createMetrics(),
    // A diagnosis, not a service: one retry is enough to tell a blip from a real failure.
    backoff: { baseMs: 200, capMs: 1_000, attempts: 2 },
  });
  report(await checkEcr(tokens, config, found));
  return failures === 0 ? 0 : 1;
}
