/**
 * The Config a command runs with, assembled from its raw flag values: each read and checked once,
 * then the rules that tie several flags together.
 */
import { isAccountId, isRegionName } from "../registry/ecr-registry.js";
import { ConfigError, type AccountRole, type Config, type WebhookObjects } from "./config.js";
import { formatDuration } from "./duration.js";
import { DNS_SUBDOMAIN, FlagReader, isDnsLabel, type RawFlags } from "./flag-reader.js";
import { FLAGS, type CommandName } from "./flags.js";

export function buildConfig(raw: RawFlags, env: NodeJS.ProcessEnv, command: CommandName): Config {
  const read = new FlagReader(raw);
  const namespaceLabel = parseLabel(read.string("namespace-label") ?? "");
  const config: Config = {
    port: read.int("port", 0, 65_535),
    metricsPort: read.int("metrics-port", 0, 65_535),
    tlsCertFile: read.string("tls-cert-file"),
    tlsKeyFile: read.string("tls-key-file"),
    caBundleOut: read.string("ca-bundle-out"),
    secretName: read.dnsName("secret-name"),
    namespaceLabel,
    defaultAccount: read.checked("default-account", isAccountId, "a 12-digit AWS account ID"),
    defaultRegion: read.checked("default-region", isRegionName, "an AWS region name such as eu-west-1"),
    allowedAccounts: read.list("allowed-accounts", isAccountId, "12-digit AWS account IDs"),
    allowedRegions: read.list("allowed-regions", isRegionName, "AWS region names"),
    patchServiceAccounts: read.bool("patch-service-accounts"),
    ecrPublic: read.bool("ecr-public"),
    maxRegistries: read.int("max-registries", 1, 200),
    // kube-system and the webhook's own namespace are never touched, whatever the flag says.
    excludeNamespaces: [
      ...new Set([
        "kube-system",
        ...(env.POD_NAMESPACE ? [env.POD_NAMESPACE] : []),
        ...read.list("exclude-namespaces", isDnsLabel, "namespace names"),
      ]),
    ],
    admissionDeadlineMs: read.duration("admission-deadline", 100, 29_000),
    shutdownDelayMs: read.duration("shutdown-delay", 0, 60_000),
    minTokenTtlMs: read.duration("min-token-ttl", 60_000, 11 * 3_600_000),
    awsCallTimeoutMs: read.duration("aws-call-timeout", 100, 120_000),
    accountRoles: parseAccountRoles(read.repeated("account-role")),
    rotationIntervalMs: read.duration("rotation-interval", 1_000, 6 * 3_600_000),
    rotationConcurrency: read.int("rotation-concurrency", 1, 256),
    leaderElect: read.bool("leader-elect"),
    leaseNamespace: read.string("lease-namespace") ?? (env.POD_NAMESPACE || "ecr-webhook"),
    keepOnDisable: read.bool("keep-on-disable"),
    logLevel: read.oneOf("log-level", ["trace", "debug", "info", "warn", "error", "silent"]) ?? "info",
    ...readWebhookObjects(read),
  };
  // doctor reads only the certificate (to check it), so the pair rule is for commands that serve.
  const servesPair = FLAGS.find((f) => f.name === "tls-key-file")?.commands.includes(command) ?? false;
  if (servesPair && config.tlsCertFile !== undefined && config.tlsKeyFile === undefined) {
    throw new ConfigError(
      "--tls-cert-file is set but --tls-key-file is not: give both, or neither for a self-signed pair.",
    );
  }
  if (config.tlsKeyFile !== undefined && config.tlsCertFile === undefined) {
    throw new ConfigError(
      "--tls-key-file is set but --tls-cert-file is not: give both, or neither for a self-signed pair.",
    );
  }
  return Object.freeze(config);
}

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function parseLabel(text: string): { key: string; value: string } {
  const [key = "", value, ...rest] = text.split("=");
  if (
    value === undefined ||
    rest.length > 0 ||
    !LABEL_KEY.test(key) ||
    !LABEL_VALUE.test(value) ||
    value.length > 63
  ) {
    throw new ConfigError(
      `--namespace-label "${text}" is not a label of the form key=value (e.g. ecr-webhook.io/inject=enabled).`,
    );
  }
  return { key, value };
}

const HOUR_MS = 3_600_000;
const TEN_YEARS_MS = 10 * 8_760 * HOUR_MS;

function readWebhookObjects(read: FlagReader): WebhookObjects {
  const label = (name: string) =>
    read.checked(name, isDnsLabel, "a DNS label") ?? read.fail(name, "", "a DNS label");
  const validityMs = read.duration("validity", HOUR_MS, TEN_YEARS_MS);
  const renewBeforeMs = read.duration("renew-before", 0, TEN_YEARS_MS);
  // Otherwise every run would find the fresh certificate "about to expire" and issue another one.
  if (renewBeforeMs >= validityMs) {
    throw new ConfigError(
      `--renew-before (${formatDuration(renewBeforeMs)}) must be shorter than --validity (${formatDuration(validityMs)}).`,
    );
  }
  const as = read.string("as-service-account");
  const [saNamespace = "", saName = "", ...rest] = (as ?? "").split(":");
  if (
    as !== undefined &&
    as !== "" &&
    (rest.length > 0 || !isDnsLabel(saNamespace) || !DNS_SUBDOMAIN.test(saName))
  ) {
    read.fail(
      "as-service-account",
      as,
      "<namespace>:<name> of a ServiceAccount, e.g. ecr-webhook:ecr-webhook",
    );
  }
  return {
    webhookNamespace: label("namespace"),
    service: label("service"),
    tlsSecret: read.dnsName("tls-secret"),
    webhookConfig: read.dnsName("webhook-config"),
    renewBeforeMs,
    validityMs,
    ...(as ? { asServiceAccount: { namespace: saNamespace, name: saName } } : {}),
  };
}

const ROLE_ARN = /^arn:aws(-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f)?:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

function parseAccountRoles(entries: readonly string[]): ReadonlyMap<string, AccountRole> {
  const roles = new Map<string, AccountRole>();
  for (const entry of entries) {
    const match = /^(\d{12})=([^#]+)(?:#(.+))?$/.exec(entry);
    if (!match?.[1] || !match[2] || !ROLE_ARN.test(match[2])) {
      throw new ConfigError(
        `--account-role "${entry}" is not of the form <12-digit account>=<IAM role ARN>[#<external-id>].`,
      );
    }
    if (roles.has(match[1])) throw new ConfigError(`--account-role names account ${match[1]} twice.`);
    roles.set(match[1], match[3] ? { roleArn: match[2], externalId: match[3] } : { roleArn: match[2] });
  }
  return roles;
}
