/**
 * What the shipped roles grant against what the webhook's identities actually did, from the API
 * server's audit log: a rule nobody used is reported (least privilege), a refused request too.
 */
import { existsSync, readFileSync } from "node:fs";
import { manifests } from "./install.js";

/** User-Agent of requests a test makes as the webhook on purpose to see them refused. */
export const PROBE_AGENT = "ecr-webhook-e2e-probe";

interface AuditEvent {
  stage?: string;
  userAgent?: string;
  requestReceivedTimestamp?: string;
  verb?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string; apiGroup?: string; name?: string };
  responseStatus?: { code?: number };
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface Grant {
  readonly user: string;
  readonly group: string;
  readonly resource: string;
  readonly verb: string;
  readonly name?: string;
}

const describeGrant = (g: Grant) =>
  `${g.verb} ${g.group ? `${g.resource}.${g.group}` : g.resource}${g.name ? ` named ${g.name}` : ""}`;

/** A rule spelled out: one grant per group, resource, verb and (optional) name. */
const expand = (user: string, rule: Rule): Grant[] =>
  rule.apiGroups.flatMap((group) =>
    rule.resources.flatMap((resource) =>
      rule.verbs.flatMap((verb) =>
        (rule.resourceNames ?? [undefined]).map((name) => ({
          user,
          group,
          resource,
          verb,
          ...(name ? { name } : {}),
        })),
      ),
    ),
  );

/** Every (verb, resource, name) the shipped bindings grant to a ServiceAccount. */
function grants(): Grant[] {
  const objects = [...manifests("webhook-config"), ...manifests("certs-job")];
  const roles = new Map(
    objects.filter((o) => o.kind.endsWith("Role")).map((o) => [`${o.kind}/${o.metadata.name}`, o]),
  );
  return objects
    .filter((o) => o.kind.endsWith("RoleBinding"))
    .flatMap((binding) => {
      const rules = (roles.get(`${binding.roleRef.kind}/${binding.roleRef.name}`)?.rules ?? []) as Rule[];
      return ((binding.subjects ?? []) as { kind: string; namespace: string; name: string }[])
        .filter((subject) => subject.kind === "ServiceAccount")
        .flatMap((subject) =>
          rules.flatMap((rule) => expand(`system:serviceaccount:${subject.namespace}:${subject.name}`, rule)),
        );
    });
}

/** How long after an API server (re)start a refusal is put down to its RBAC caches still syncing. */
const SETTLE_MS = 5_000;

/**
 * One line per finding, empty when every grant was used and nothing was refused. A request refused
 * while an API server was starting (its authorizer denies until its caches have synced) is not one.
 */
export function rbacReport(
  auditLog: string,
  starts: readonly { launchedAt: number; readyAt?: number }[] = [],
): string[] {
  if (!existsSync(auditLog)) return [];
  const events = readFileSync(auditLog, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => e.stage === "ResponseComplete" && e.objectRef && !e.objectRef.subresource)
    .filter((e) => !e.userAgent?.startsWith(PROBE_AGENT));
  const used = (g: Grant) =>
    events.some(
      (e) =>
        e.user?.username === g.user &&
        e.verb === g.verb &&
        (e.objectRef?.apiGroup ?? "") === g.group &&
        e.objectRef?.resource === g.resource &&
        (g.name === undefined || e.objectRef?.name === g.name) &&
        e.responseStatus?.code !== 403,
    );
  const lines: string[] = [];
  const unused = grants().filter((g) => !used(g));
  for (const user of new Set(unused.map((g) => g.user))) {
    const list = unused.filter((g) => g.user === user).map(describeGrant);
    lines.push(`granted to ${user} but never used in this run: ${list.join(", ")}`);
  }
  const starting = (e: AuditEvent) => {
    const at = Date.parse(e.requestReceivedTimestamp ?? "");
    return starts.some((s) => at >= s.launchedAt && at <= (s.readyAt ?? Infinity) + SETTLE_MS);
  };
  const refused = events.filter(
    (e) =>
      e.responseStatus?.code === 403 &&
      e.user?.username?.startsWith("system:serviceaccount:ecr-webhook:") &&
      !starting(e),
  );
  for (const e of refused) {
    const ref = e.objectRef!;
    lines.push(
      `refused to ${e.user!.username}: ${e.verb} ${ref.apiGroup ? `${ref.resource}.${ref.apiGroup}` : ref.resource}${ref.name ? ` named ${ref.name}` : ""}`,
    );
  }
  return [...new Set(lines)];
}
