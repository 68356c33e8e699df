import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../../src/config/command-line.js";
import { ConfigError } from "../../src/config/config.js";

const HOUR = 3_600_000;

describe("certs and doctor flags", () => {
  it("default to the shipped manifests' names", () => {
    const { config } = parseCommandLine("certs", [], {});
    expect(config).toMatchObject({
      webhookNamespace: "ecr-webhook",
      service: "ecr-webhook",
      tlsSecret: "ecr-webhook-tls",
      webhookConfig: "ecr-webhook",
      renewBeforeMs: 720 * HOUR,
      validityMs: 8_760 * HOUR,
    });
    expect(config.asServiceAccount).toBeUndefined();
  });

  it("read their environment twins; flags win", () => {
    const env = {
      ECR_WEBHOOK_NAMESPACE: "platform",
      ECR_WEBHOOK_SERVICE: "from-env",
      ECR_WEBHOOK_VALIDITY: "2160h",
    };
    const { config } = parseCommandLine("certs", ["--service=from-flag"], env);
    expect(config).toMatchObject({
      webhookNamespace: "platform",
      service: "from-flag",
      validityMs: 2_160 * HOUR,
    });
  });

  it("parse --as-service-account as <namespace>:<name>", () => {
    const { config } = parseCommandLine("doctor", ["--as-service-account=ecr-webhook:ecr-webhook"], {});
    expect(config.asServiceAccount).toEqual({ namespace: "ecr-webhook", name: "ecr-webhook" });
  });

  it("let doctor take --tls-cert-file alone: it checks the certificate, it does not serve it", () => {
    expect(parseCommandLine("doctor", ["--tls-cert-file=/tls/tls.crt"], {}).config.tlsCertFile).toBe(
      "/tls/tls.crt",
    );
    expect(() => parseCommandLine("serve", ["--tls-cert-file=/tls/tls.crt"], {})).toThrow(ConfigError);
  });

  it.each([
    [["--renew-before=8760h"], "--renew-before (8760h) must be shorter than --validity (8760h)."],
    [
      ["--validity=30m"],
      '--validity "30m" is not valid: expected a duration such as 2s, 10m or 6h, between 3600000ms and 315360000s.',
    ],
    [["--namespace=Team_A"], '--namespace "Team_A" is not valid: expected a DNS label.'],
    [["--service="], '--service "" is not valid: expected a DNS label.'],
    [["--tls-secret=a b"], '--tls-secret "a b" is not valid: expected a lower-case DNS name.'],
  ])("certs %j: %s", (argv, message) => {
    expect(() => parseCommandLine("certs", argv, {})).toThrow(new ConfigError(message));
  });

  it.each(["ecr-webhook", "a:b:c", "Ns:name", ":name"])(
    "doctor --as-service-account=%s is refused",
    (value) => {
      expect(() => parseCommandLine("doctor", [`--as-service-account=${value}`], {})).toThrow(
        /--as-service-account .* is not valid: expected <namespace>:<name> of a ServiceAccount/,
      );
    },
  );
});
