import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../../src/config/command-line.js";
import { ConfigError } from "../../src/config/config.js";
import { formatDuration, parseDuration } from "../../src/config/duration.js";

describe("durations", () => {
  it.each([
    ["500ms", 500],
    ["2s", 2_000],
    ["10m", 600_000],
    ["6h", 21_600_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1_500],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(["", "2", "2 s", "s", "-1s", "2d", "1h 30m", "2sx"])("%j is not a duration", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
  it.each([
    [7_200_000, "2h"],
    [90_000, "1m30s"],
    [250, "250ms"],
  ])("formats %d as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("serve configuration", () => {
  it("has the documented defaults", () => {
    const { config } = parseCommandLine("serve", [], {});
    expect(config).toMatchObject({
      port: 8443,
      metricsPort: 9090,
      secretName: "ecr-pull-secret",
      namespaceLabel: { key: "ecr-webhook.io/inject", value: "enabled" },
      patchServiceAccounts: true,
      admissionDeadlineMs: 2_000,
      minTokenTtlMs: 6 * 3_600_000,
      rotationIntervalMs: 600_000,
      rotationConcurrency: 16,
      leaderElect: true,
      leaseNamespace: "ecr-webhook",
      excludeNamespaces: ["kube-system"],
      logLevel: "info",
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads environment twins, and flags win over them", () => {
    const env = {
      ECR_WEBHOOK_SECRET_NAME: "from-env",
      ECR_WEBHOOK_DEFAULT_REGION: "eu-west-1",
      POD_NAMESPACE: "platform",
    };
    const { config } = parseCommandLine("serve", ["--secret-name", "from-flag"], env);
    expect(config.secretName).toBe("from-flag");
    expect(config.defaultRegion).toBe("eu-west-1");
    expect(config.leaseNamespace).toBe("platform");
    expect(config.excludeNamespaces).toEqual(["kube-system", "platform"]);
  });

  it("parses --account-role with and without an external ID", () => {
    const { config } = parseCommandLine(
      "serve",
      [
        "--account-role",
        "210987654321=arn:aws:iam::210987654321:role/ecr-pull",
        "--account-role",
        "111122223333=arn:aws-cn:iam::111122223333:role/path/ecr#ext-42",
      ],
      {},
    );
    expect(Object.fromEntries(config.accountRoles)).toEqual({
      "210987654321": { roleArn: "arn:aws:iam::210987654321:role/ecr-pull" },
      "111122223333": { roleArn: "arn:aws-cn:iam::111122223333:role/path/ecr", externalId: "ext-42" },
    });
  });

  it.each([
    [["--port", "70000"], '--port "70000" is not valid: expected a whole number from 0 to 65535.'],
    [
      ["--admission-deadline", "2"],
      '--admission-deadline "2" is not valid: expected a duration such as 2s, 10m or 6h, between 100ms and 29s.',
    ],
    [
      ["--admission-deadline", "45s"],
      '--admission-deadline "45s" is not valid: expected a duration such as 2s, 10m or 6h, between 100ms and 29s.',
    ],
    [
      ["--default-account", "1234"],
      '--default-account "1234" is not valid: expected a 12-digit AWS account ID.',
    ],
    [
      ["--default-region", "us-east"],
      '--default-region "us-east" is not valid: expected an AWS region name such as eu-west-1.',
    ],
    [
      ["--allowed-regions", "eu-west-1,nowhere"],
      '--allowed-regions "nowhere" is not valid: expected a comma list of AWS region names.',
    ],
    [["--secret-name", "Bad_Name"], '--secret-name "Bad_Name" is not valid: expected a lower-case DNS name.'],
    [
      ["--namespace-label", "no-value"],
      '--namespace-label "no-value" is not a label of the form key=value (e.g. ecr-webhook.io/inject=enabled).',
    ],
    [
      ["--patch-service-accounts", "yes"],
      '--patch-service-accounts "yes" is not valid: expected true or false.',
    ],
    [
      ["--log-level", "loud"],
      '--log-level "loud" is not valid: expected one of trace, debug, info, warn, error, silent.',
    ],
    [
      ["--account-role", "210987654321=not-an-arn"],
      '--account-role "210987654321=not-an-arn" is not of the form <12-digit account>=<IAM role ARN>[#<external-id>].',
    ],
    [
      ["--tls-cert-file", "/x.crt"],
      "--tls-cert-file is set but --tls-key-file is not: give both, or neither for a self-signed pair.",
    ],
  ])("%j is refused with a message naming the flag", (argv, message) => {
    expect(() => parseCommandLine("serve", argv, {})).toThrow(new ConfigError(message));
  });

  it("names an unknown flag and where to look", () => {
    expect(() => parseCommandLine("serve", ["--no-such-flag"], {})).toThrow(
      /^Unknown option '--no-such-flag'.*\(see 'ecr-webhook serve --help'\)\.$/,
    );
  });

  it("validates environment twins the same way", () => {
    expect(() => parseCommandLine("serve", [], { ECR_WEBHOOK_MIN_TOKEN_TTL: "forever" })).toThrow(
      /--min-token-ttl "forever"/,
    );
  });
});
