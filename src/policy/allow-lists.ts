import type { AdmissionPolicy } from "../config/config.js";
import type { EcrRegistry } from "../registry/ecr-registry.js";
import { ANNOTATION_ALLOWED_ACCOUNTS, ANNOTATION_ALLOWED_REGIONS } from "./keys.js";
import type { NamespaceMeta } from "./namespace.js";

interface Rule {
  readonly field: "account" | "region";
  readonly allowed: readonly string[];
  readonly source: string;
}

function commaList(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A namespace's own rules, parsed once per NamespaceMeta object (the cache keeps one per version). */
const namespaceRules = new WeakMap<NamespaceMeta, readonly Rule[]>();

function rulesOfNamespace(namespace: NamespaceMeta): readonly Rule[] {
  let rules = namespaceRules.get(namespace);
  if (!rules) {
    rules = [
      {
        field: "account" as const,
        allowed: commaList(namespace.annotations[ANNOTATION_ALLOWED_ACCOUNTS]),
        source: `namespace ${namespace.name} annotation ${ANNOTATION_ALLOWED_ACCOUNTS}`,
      },
      {
        field: "region" as const,
        allowed: commaList(namespace.annotations[ANNOTATION_ALLOWED_REGIONS]),
        source: `namespace ${namespace.name} annotation ${ANNOTATION_ALLOWED_REGIONS}`,
      },
    ].filter((rule) => rule.allowed.length > 0);
    namespaceRules.set(namespace, rules);
  }
  return rules;
}

/**
 * Server flags bound every namespace; namespace annotations can only narrow them further (a
 * registry must pass both). An empty or absent list places no restriction at that level.
 */
function rulesFor(namespace: NamespaceMeta, policy: AdmissionPolicy): Rule[] {
  const rules: Rule[] = [
    { field: "account", allowed: policy.allowedAccounts, source: "--allowed-accounts" },
    { field: "region", allowed: policy.allowedRegions, source: "--allowed-regions" },
  ];
  return [...rules.filter((rule) => rule.allowed.length > 0), ...rulesOfNamespace(namespace)];
}

export interface AllowListResult {
  readonly allowed: EcrRegistry[];
  readonly warnings: string[];
}

/** Why the rules refuse a registry (the first rule it breaks), or undefined when they allow it. */
export function refusal(
  registry: EcrRegistry,
  namespace: NamespaceMeta,
  policy: AdmissionPolicy,
): string | undefined {
  // ECR Public has no account to allow: its token opens only what anyone may pull.
  if (registry.public) return policy.ecrPublic ? undefined : "ECR Public is not enabled (--ecr-public)";
  const broken = rulesFor(namespace, policy).find((rule) => !rule.allowed.includes(registry[rule.field]));
  return broken && `${broken.field} ${registry[broken.field]} is not allowed by ${broken.source}`;
}

export function applyAllowLists(
  registries: readonly EcrRegistry[],
  namespace: NamespaceMeta,
  policy: AdmissionPolicy,
): AllowListResult {
  const allowed: EcrRegistry[] = [];
  const warnings: string[] = [];
  for (const registry of registries) {
    const why = refusal(registry, namespace, policy);
    if (why) warnings.push(`ecr-webhook: no credentials for ${registry.host}: ${why}`);
    else allowed.push(registry);
  }
  return { allowed, warnings };
}
