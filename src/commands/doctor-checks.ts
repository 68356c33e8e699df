import { readFile } from "node:fs/promises";
import { VersionApi, type KubeConfig, type V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import { checkTrust } from "../certs/bundle.js";
import { describeFailure } from "../certs/failure.js";
import { kubeWebhookConfigurations, webhookTrust, type WebhookTrust } from "../certs/webhook-config.js";
import type { Config } from "../config/config.js";
import { apiFailure } from "../kube/api-errors.js";
import { withTimeout } from "../kube/request-options.js";
import { kubeSecretStore } from "../kube/secret-store.js";
import { inspectCertificate } from "../tls/issue.js";

/** One line of the report: ✓, or ✗ with what to do about it. */
export interface CheckResult {
  readonly ok: boolean;
  readonly line: string;
  readonly fix?: string;
}

const DAY_MS = 86_400_000;
const RUN_CERTS = "ecr-webhook certs (or kubectl apply -k certs-job)";

export async function checkApiServer(kc: KubeConfig): Promise<CheckResult> {
  const server = kc.getCurrentCluster()?.server ?? "(no server)";
  try {
    const version = await kc.makeApiClient(VersionApi).getCode(withTimeout());
    return { ok: true, line: `API server ${server} reachable (Kubernetes ${version.gitVersion})` };
  } catch (error) {
    const { code } = apiFailure(error);
    if (code === 401) {
      return {
        ok: false,
        line: `API server ${server} rejected the credentials (HTTP 401)`,
        fix: "renew the kubeconfig's credentials (or the ServiceAccount token)",
      };
    }
    return {
      ok: false,
      line: describeFailure(`Reaching the API server ${server}`, error).replace(/\.$/, ""),
      fix: "check KUBECONFIG and its current context, and that this machine can reach the API server",
    };
  }
}

/** The host the API server connects to for each webhook (Service DNS name or URL host). */
function calledHosts(config: V1MutatingWebhookConfiguration): string[] {
  const hosts = (config.webhooks ?? []).map((w) => {
    const service = w.clientConfig?.service;
    if (service) return `${service.name}.${service.namespace}.svc`;
    return w.clientConfig?.url ? new URL(w.clientConfig.url).hostname : undefined;
  });
  return [...new Set(hosts.filter((h): h is string => h !== undefined))];
}

/**
 * Would the API server accept this certificate: trusted by every webhook's caBundle, naming every
 * host it calls, within its validity. Pure; every problem found goes into the one line.
 */
export function certificateCheck(
  cert: { pem: string; source: string },
  config: V1MutatingWebhookConfiguration,
  webhooks: readonly WebhookTrust[],
  now: Date,
): CheckResult {
  let facts;
  try {
    facts = inspectCertificate(cert.pem);
  } catch {
    return {
      ok: false,
      line: `serving certificate (${cert.source}) is not a PEM certificate`,
      fix: RUN_CERTS,
    };
  }
  const problems: string[] = [];
  const trust = webhooks
    .filter((w) => w.caBundle)
    .map((w) => ({ w, problem: checkTrust(cert.pem, w.caBundle, now) }));
  if (trust.some((t) => t.problem === "expired"))
    problems.push(`it expired at ${facts.notAfter.toISOString()}`);
  if (trust.some((t) => t.problem === "not-yet-valid")) problems.push("it is not valid yet");
  const untrusted = trust.filter((t) => t.problem === "untrusted").map((t) => t.w.name);
  if (untrusted.length > 0) problems.push(`the caBundle of ${untrusted.join(", ")} does not trust it`);
  const unnamed = calledHosts(config).filter((host) => !facts.dnsNames.includes(host));
  if (unnamed.length > 0) problems.push(`it does not name ${unnamed.join(", ")}`);
  if (problems.length > 0) {
    return {
      ok: false,
      line: `serving certificate (${cert.source}): ${problems.join("; ")}`,
      fix: RUN_CERTS,
    };
  }
  const daysLeft = Math.floor((facts.notAfter.getTime() - now.getTime()) / DAY_MS);
  return {
    ok: true,
    line: `serving certificate (${cert.source}) is trusted by every caBundle and names ${calledHosts(config).join(", ")}; valid until ${facts.notAfter.toISOString()} (${daysLeft} days)`,
  };
}

/** The serving certificate from the TLS Secret when readable, else from --tls-cert-file. */
async function servingCertificate(
  kc: KubeConfig,
  config: Config,
): Promise<{ pem: string; source: string } | CheckResult> {
  const name = `${config.webhookNamespace}/${config.tlsSecret}`;
  let problem: CheckResult;
  try {
    const secret = await kubeSecretStore(kc).read(config.webhookNamespace, config.tlsSecret);
    const crt = secret?.data?.["tls.crt"];
    if (crt) return { pem: Buffer.from(crt, "base64").toString("utf8"), source: `Secret ${name}` };
    problem = {
      ok: false,
      line: `TLS Secret ${name} ${secret ? "has no tls.crt" : "does not exist"}`,
      fix: RUN_CERTS,
    };
  } catch (error) {
    problem = {
      ok: false,
      line: describeFailure(`Reading TLS Secret ${name}`, error).replace(/\.$/, ""),
      fix: "pass --tls-cert-file=<the serving certificate>, or run doctor as an identity that may read that Secret",
    };
  }
  if (!config.tlsCertFile) return problem;
  try {
    return { pem: await readFile(config.tlsCertFile, "utf8"), source: config.tlsCertFile };
  } catch (error) {
    return {
      ok: false,
      line: `cannot read --tls-cert-file: ${(error as Error).message}`,
      fix: "pass a readable PEM file",
    };
  }
}

/** The MutatingWebhookConfiguration exists, every webhook has a caBundle, and it trusts the certificate. */
export async function checkRegistration(kc: KubeConfig, config: Config, now: Date): Promise<CheckResult[]> {
  const name = config.webhookConfig;
  let mwc: V1MutatingWebhookConfiguration | undefined;
  try {
    mwc = await kubeWebhookConfigurations(kc).read(name);
  } catch (error) {
    return [
      {
        ok: false,
        line: describeFailure(`Reading MutatingWebhookConfiguration ${name}`, error).replace(/\.$/, ""),
        fix: "run doctor as an identity that may get mutatingwebhookconfigurations (e.g. a cluster admin)",
      },
    ];
  }
  if (!mwc) {
    return [
      {
        ok: false,
        line: `MutatingWebhookConfiguration ${name} does not exist`,
        fix: `kubectl apply -k webhook-config, then ${RUN_CERTS}`,
      },
    ];
  }
  const webhooks = webhookTrust(mwc);
  const bare = webhooks.filter((w) => !w.caBundle?.trim()).map((w) => w.name);
  const registration: CheckResult =
    bare.length > 0
      ? {
          ok: false,
          line: `MutatingWebhookConfiguration ${name}: no caBundle in ${bare.join(", ")}`,
          fix: RUN_CERTS,
        }
      : {
          ok: true,
          line: `MutatingWebhookConfiguration ${name}: ${webhooks.length} webhooks, each with a caBundle`,
        };
  const cert = await servingCertificate(kc, config);
  return [registration, "ok" in cert ? cert : certificateCheck(cert, mwc, webhooks, now)];
}
