import type { KubeConfig } from "@kubernetes/client-node";
import { describeFailure } from "../certs/failure.js";
import type { Config } from "../config/config.js";
import { formatDuration } from "../config/duration.js";
import { mapLimit } from "../util/map-limit.js";
import type { TokenSource } from "../ecr/token-source.js";
import { isDue, TOKEN_LIFETIME_MS } from "../ecr/token-freshness.js";
import type { NamespaceMeta } from "../policy/namespace.js";
import { enabledNamespaceLister } from "../kube/namespaces.js";
import { kubeSecretStore } from "../kube/secret-store.js";
import { classifyImage } from "../registry/ecr-registry.js";
import { isManaged, readEntries } from "../secrets/pull-secret.js";
import type { CheckResult } from "./doctor-checks.js";

const HOUR_MS = 3_600_000;
const SHOWN = 10;
const hours = (ms: number) => `${(ms / HOUR_MS).toFixed(1)}h`;

export interface Registry {
  readonly account: string;
  readonly region: string;
}

export async function checkNamespaces(
  kc: KubeConfig,
  config: Config,
): Promise<{ result: CheckResult; namespaces: string[]; metas: NamespaceMeta[] }> {
  const metas = await enabledNamespaceLister(kc, config)();
  const namespaces = metas.map((ns) => ns.name);
  const { key, value } = config.namespaceLabel;
  const shown =
    namespaces.slice(0, SHOWN).join(", ") +
    (namespaces.length > SHOWN ? `, … (${namespaces.length - SHOWN} more)` : "");
  const line =
    namespaces.length === 0
      ? `0 enabled namespaces (opt one in: kubectl label namespace <name> ${key}=${value})`
      : `${namespaces.length} enabled namespace${namespaces.length === 1 ? "" : "s"}: ${shown}`;
  return { result: { ok: true, line }, namespaces, metas };
}

/**
 * Reads each enabled namespace's pull Secret by name: the oldest token, every entry with less than
 * --min-token-ttl left (✗: rotation is behind), and the ECR registries in use (for the ECR check).
 */
export async function checkTokens(
  kc: KubeConfig,
  config: Config,
  namespaces: readonly string[],
  now: number,
): Promise<{ results: CheckResult[]; registries: Registry[] }> {
  const store = kubeSecretStore(kc);
  const results: CheckResult[] = [];
  const registries = new Map<string, Registry>();
  let withSecret = 0;
  let oldestIssue = Infinity;
  const secrets = await mapLimit(namespaces, config.rotationConcurrency, async (namespace) => {
    try {
      return { namespace, secret: await store.read(namespace, config.secretName) };
    } catch (error) {
      return { namespace, error };
    }
  });
  for (const { namespace, secret, error } of secrets) {
    if (error !== undefined) {
      results.push({
        ok: false,
        line: describeFailure(`Reading Secret ${namespace}/${config.secretName}`, error).replace(/\.$/, ""),
        fix: `the webhook needs get on secrets named ${config.secretName} (ClusterRole ecr-webhook)`,
      });
      continue;
    }
    if (!secret) continue;
    withSecret += 1;
    if (!isManaged(secret)) {
      results.push({
        ok: false,
        line: `${namespace}: Secret ${config.secretName} exists but is not managed by ecr-webhook, so it is never refreshed`,
        fix: `delete it (the webhook recreates it) or choose another --secret-name`,
      });
      continue;
    }
    const expiring: string[] = [];
    for (const [host, entry] of readEntries(secret)) {
      const left = entry.expiresAt.getTime() - now;
      oldestIssue = Math.min(
        oldestIssue,
        entry.issuedAt?.getTime() ?? entry.expiresAt.getTime() - TOKEN_LIFETIME_MS,
      );
      // Rotation's own rule: due --min-token-ttl before expiry, or halfway through a shorter life.
      if (isDue(entry, now, config.minTokenTtlMs))
        expiring.push(`${host} ${left <= 0 ? "expired" : `in ${hours(left)}`}`);
      const image = classifyImage(`${host}/doctor`);
      if (image.kind === "ecr")
        registries.set(host, { account: image.registry.account, region: image.registry.region });
    }
    if (expiring.length > 0) {
      results.push({
        ok: false,
        line: `${namespace}: token${expiring.length === 1 ? "" : "s"} below --min-token-ttl ${formatDuration(config.minTokenTtlMs)}: ${expiring.join(", ")}`,
        fix: "ecr-webhook refresh, then check the rotation logs of the webhook's leader",
      });
    }
  }
  const oldest = Number.isFinite(oldestIssue)
    ? `; oldest token ${hours(Math.max(0, now - oldestIssue))} old`
    : "";
  results.unshift({
    ok: true,
    line: `pull Secrets: ${withSecret} of ${namespaces.length} enabled namespaces have one${oldest}`,
  });
  return { results, registries: [...registries.values()] };
}

/**
 * One GetAuthorizationToken per (identity, region) through the real token source: --default-region
 * and every region a Secret holds a token for. The token itself is never shown.
 */
export async function checkEcr(
  tokens: TokenSource,
  config: Config,
  found: readonly Registry[],
): Promise<CheckResult[]> {
  const wanted = [
    ...(config.defaultRegion ? [{ account: config.defaultAccount ?? "", region: config.defaultRegion }] : []),
    ...found,
  ];
  const targets = new Map<string, Registry & { identity: string; role?: string }>();
  for (const r of wanted) {
    const role = config.accountRoles.get(r.account)?.roleArn;
    const key = `${role ?? "default"}|${r.region}`;
    if (!targets.has(key)) targets.set(key, { ...r, identity: role ?? "the default AWS credentials", role });
  }
  const publicCheck = config.ecrPublic ? [await checkEcrPublic(tokens)] : [];
  if (targets.size === 0) {
    return [
      { ok: true, line: "ECR: no region to check (set --default-region, or no Secret holds a token yet)" },
      ...publicCheck,
    ];
  }
  const results: CheckResult[] = [];
  for (const t of targets.values()) {
    try {
      const token = await tokens.get(t.account, t.region);
      results.push({
        ok: true,
        line: `ECR: token for ${t.region} obtained as ${t.identity}, valid until ${token.expiresAt.toISOString()}`,
      });
    } catch (error) {
      results.push({
        ok: false,
        line: (error as Error).message,
        fix: t.role
          ? `let the default credentials sts:AssumeRole ${t.role} (trust policy, external id) and the role ecr:GetAuthorizationToken`
          : "give the webhook AWS credentials allowed ecr:GetAuthorizationToken: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (Secret ecr-webhook-aws, see webhook-config/aws-credentials.example.yaml), or IRSA / EKS Pod Identity",
      });
    }
  }
  return [...results, ...publicCheck];
}

/** With --ecr-public, every enabled namespace may need the default identity's ECR Public token. */
async function checkEcrPublic(tokens: TokenSource): Promise<CheckResult> {
  try {
    const token = await tokens.getPublic();
    return {
      ok: true,
      line: `ECR Public: token obtained as the default AWS credentials, valid until ${token.expiresAt.toISOString()}`,
    };
  } catch (error) {
    return {
      ok: false,
      line: (error as Error).message,
      fix: "allow the default AWS credentials ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken, or turn --ecr-public off",
    };
  }
}
