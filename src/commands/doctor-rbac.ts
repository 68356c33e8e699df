import { AuthorizationV1Api, KubeConfig, type V1ResourceAttributes } from "@kubernetes/client-node";
import type { Config } from "../config/config.js";
import { LEASE_NAME } from "../controller/controller.js";
import { withTimeout } from "../kube/request-options.js";
import { mapLimit } from "../util/map-limit.js";
import type { CheckResult } from "./doctor-checks.js";

/**
 * What the webhook does with the API, one row per rule. It mirrors the shipped ClusterRole
 * (webhook-config/base/clusterrole.yaml) and the leader-election Role; a test holds them together.
 * `namespace: "lease"` rows are checked in the Lease's namespace, the others in every namespace;
 * `name` rows for that one object, as the manifests restrict them with resourceNames.
 */
export const WEBHOOK_PERMISSIONS: readonly {
  readonly group: string;
  readonly resource: string;
  readonly verbs: readonly string[];
  readonly name?: "pull-secret" | "lease";
  readonly namespace?: "lease";
}[] = [
  { group: "", resource: "namespaces", verbs: ["get", "list", "watch"] },
  { group: "", resource: "serviceaccounts", verbs: ["get", "list", "patch"] },
  { group: "", resource: "secrets", verbs: ["create"] },
  {
    group: "",
    resource: "secrets",
    verbs: ["get", "list", "watch", "update", "delete"],
    name: "pull-secret",
  },
  { group: "", resource: "events", verbs: ["create"] },
  { group: "coordination.k8s.io", resource: "leases", verbs: ["create"], namespace: "lease" },
  {
    group: "coordination.k8s.io",
    resource: "leases",
    verbs: ["get", "update"],
    namespace: "lease",
    name: "lease",
  },
];

/** Every (verb, resource, namespace, name) to ask about, with the configured names filled in. */
export function permissionChecks(config: Config): V1ResourceAttributes[] {
  return WEBHOOK_PERMISSIONS.flatMap((row) =>
    row.verbs.map((verb) => ({
      verb,
      group: row.group,
      resource: row.resource,
      ...(row.namespace ? { namespace: config.webhookNamespace } : {}),
      ...(row.name ? { name: row.name === "lease" ? LEASE_NAME : config.secretName } : {}),
    })),
  );
}

export function describePermission(p: V1ResourceAttributes): string {
  const resource = p.group ? `${p.resource}.${p.group}` : p.resource;
  const where = p.namespace ? `in namespace ${p.namespace}` : "in every namespace";
  return `${p.verb} ${resource}${p.name ? ` named ${p.name}` : ""} ${where}`;
}

/** The current identity, or the same credentials impersonating the ServiceAccount. */
export function rbacKubeConfig(kc: KubeConfig, config: Config): { kc: KubeConfig; subject: string } {
  const sa = config.asServiceAccount;
  if (!sa) return { kc, subject: "the current identity" };
  const user = `system:serviceaccount:${sa.namespace}:${sa.name}`;
  const current = kc.getCurrentUser()?.name;
  const impersonating = new KubeConfig();
  impersonating.loadFromOptions({
    clusters: kc.getClusters(),
    users: kc.getUsers().map((u) => (u.name === current ? { ...u, impersonateUser: user } : u)),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return { kc: impersonating, subject: `ServiceAccount ${sa.namespace}/${sa.name}` };
}

function grantFix(p: V1ResourceAttributes): string {
  const apply = "and kubectl apply -k webhook-config";
  if (p.resource === "leases") {
    return `grant ${p.verb} in the leader-election Role (webhook-config/base/role-leader-election.yaml) ${apply}`;
  }
  const names = p.name ? ` with resourceNames ["${p.name}"] (it must match --secret-name)` : "";
  return `grant ${p.verb} on ${p.resource}${names} in the ClusterRole ecr-webhook (webhook-config/base/clusterrole.yaml) ${apply}`;
}

/**
 * One SelfSubjectAccessReview per permission. All granted: one ✓ line; otherwise one ✗ line per
 * missing permission, so the fix names exactly what to grant.
 */
export async function checkRbac(kc: KubeConfig, config: Config): Promise<CheckResult[]> {
  const { kc: asSubject, subject } = rbacKubeConfig(kc, config);
  const api = asSubject.makeApiClient(AuthorizationV1Api);
  const wanted = permissionChecks(config);
  const answers = await mapLimit(wanted, 8, async (resourceAttributes) => {
    const review = await api.createSelfSubjectAccessReview(
      {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes },
        },
      },
      withTimeout(),
    );
    return { permission: resourceAttributes, allowed: review.status?.allowed === true };
  });
  const denied = answers.filter((a) => !a.allowed);
  const hint = config.asServiceAccount
    ? ""
    : ` (from a workstation, add --as-service-account=${config.webhookNamespace}:ecr-webhook to check the webhook's own)`;
  if (denied.length === 0) {
    return [
      { ok: true, line: `RBAC: ${subject} has all ${wanted.length} permissions the webhook needs${hint}` },
    ];
  }
  return denied.map(({ permission }) => ({
    ok: false,
    line: `RBAC: ${subject} may not ${describePermission(permission)}`,
    fix: grantFix(permission),
  }));
}
