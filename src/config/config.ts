/**
 * What a command is configured with, once its flags are parsed and checked (see command-line.ts),
 * and the one error a configuration mistake raises.
 */

export interface AccountRole {
  readonly roleArn: string;
  readonly externalId?: string;
}

/** What the admission decision needs; a subset so `explain` can build it without a cluster. */
export interface AdmissionPolicy {
  readonly secretName: string;
  readonly namespaceLabel: { readonly key: string; readonly value: string };
  readonly defaultAccount?: string;
  readonly defaultRegion?: string;
  readonly allowedAccounts: readonly string[];
  readonly allowedRegions: readonly string[];
  readonly patchServiceAccounts: boolean;
  /** Whether public.ecr.aws gets an authenticated entry (--ecr-public). */
  readonly ecrPublic: boolean;
  readonly excludeNamespaces: readonly string[];
  /** Most registries one Secret holds. */
  readonly maxRegistries: number;
}

/** Where `certs` and `doctor` find the webhook's own objects, and how `certs` issues certificates. */
export interface WebhookObjects {
  readonly webhookNamespace: string;
  readonly service: string;
  readonly tlsSecret: string;
  readonly webhookConfig: string;
  readonly renewBeforeMs: number;
  readonly validityMs: number;
  /** doctor checks RBAC as this ServiceAccount (impersonated) instead of the current identity. */
  readonly asServiceAccount?: { readonly namespace: string; readonly name: string };
}

export interface Config extends AdmissionPolicy, WebhookObjects {
  readonly port: number;
  readonly metricsPort: number;
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
  readonly caBundleOut?: string;
  readonly admissionDeadlineMs: number;
  readonly shutdownDelayMs: number;
  readonly minTokenTtlMs: number;
  readonly awsCallTimeoutMs: number;
  readonly accountRoles: ReadonlyMap<string, AccountRole>;
  readonly rotationIntervalMs: number;
  readonly rotationConcurrency: number;
  readonly leaderElect: boolean;
  readonly leaseNamespace: string;
  readonly keepOnDisable: boolean;
  readonly logLevel: string;
}

/** A configuration mistake: its message is shown to the operator as is, one sentence. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
