import { parseArgs, type ParseArgsConfig } from "node:util";
import { isAccountId, isRegionName } from "../registry/ecr-registry.js";
import { formatDuration, parseDuration } from "./duration.js";
import { envName, FLAGS, type CommandName } from "./flags.js";

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

type Raw = Map<string, string | string[]>;

export interface CommandLine {
  readonly config: Config;
  readonly extra: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

/**
 * Parses a command's flags (environment twins fill what the command line leaves out), validates
 * every value once and returns a frozen Config. Unknown flags and bad values throw ConfigError.
 */
export function parseCommandLine(
  command: CommandName,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  extraOptions: ParseArgsConfig["options"] = {},
): CommandLine {
  const specs = FLAGS.filter((f) => f.commands.includes(command));
  const options: NonNullable<ParseArgsConfig["options"]> = { ...extraOptions };
  for (const spec of specs) {
    options[spec.name] = { type: "string", multiple: spec.kind === "repeated" };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError(
      `${(error as Error).message.split("\n")[0]} (see 'ecr-webhook ${command} --help').`,
    );
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const raw: Raw = new Map();
  const extra: CommandLine["extra"] = {};
  for (const [key, value] of Object.entries(values)) {
    if (specs.some((s) => s.name === key)) raw.set(key, value as string | string[]);
    else extra[key] = value;
  }
  for (const spec of specs) {
    const fromEnv = env[envName(spec.name)];
    if (!raw.has(spec.name) && fromEnv !== undefined && fromEnv !== "") {
      raw.set(spec.name, spec.kind === "repeated" ? fromEnv.split(/\s+/).filter(Boolean) : fromEnv);
    }
  }
  return { config: buildConfig(raw, env, command), extra, positionals: parsed.positionals };
}

function buildConfig(raw: Raw, env: NodeJS.ProcessEnv, command: CommandName): Config {
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

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}

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

/** Reads one flag at a time and turns a bad value into a sentence that names flag and value. */
class FlagReader {
  constructor(private readonly raw: Raw) {}

  string(name: string): string | undefined {
    // Flags a command does not take keep their defaults, so every command gets a complete Config.
    const value = this.raw.get(name) ?? FLAGS.find((s) => s.name === name)?.default;
    return typeof value === "string" ? value : undefined;
  }

  repeated(name: string): string[] {
    const value = this.raw.get(name);
    return Array.isArray(value) ? value : [];
  }

  fail(name: string, value: string, expected: string): never {
    throw new ConfigError(`--${name} "${value}" is not valid: expected ${expected}.`);
  }

  checked(name: string, test: (v: string) => boolean, expected: string): string | undefined {
    const value = this.string(name);
    if (value === undefined || value === "") return undefined;
    return test(value) ? value : this.fail(name, value, expected);
  }

  list(name: string, test: (v: string) => boolean, expected: string): string[] {
    const items = (this.string(name) ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const item of items) if (!test(item)) this.fail(name, item, `a comma list of ${expected}`);
    return items;
  }

  int(name: string, min: number, max: number): number {
    const value = this.string(name) ?? "";
    const n = Number(value);
    return /^\d+$/.test(value) && n >= min && n <= max
      ? n
      : this.fail(name, value, `a whole number from ${min} to ${max}`);
  }

  bool(name: string): boolean {
    const value = this.string(name) ?? "";
    if (value === "true") return true;
    if (value === "false") return false;
    return this.fail(name, value, "true or false");
  }

  duration(name: string, minMs: number, maxMs: number): number {
    const value = this.string(name) ?? "";
    const ms = parseDuration(value);
    if (ms === undefined || ms < minMs || ms > maxMs) {
      return this.fail(
        name,
        value,
        `a duration such as 2s, 10m or 6h, between ${minMs}ms and ${maxMs / 1000}s`,
      );
    }
    return ms;
  }

  dnsName(name: string): string {
    const value = this.string(name) ?? "";
    return value.length <= 253 && DNS_SUBDOMAIN.test(value)
      ? value
      : this.fail(name, value, "a lower-case DNS name");
  }

  oneOf(name: string, choices: readonly string[]): string | undefined {
    const value = this.string(name);
    return value === undefined || choices.includes(value)
      ? value
      : this.fail(name, value, `one of ${choices.join(", ")}`);
  }
}
