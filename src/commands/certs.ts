import { randomBytes } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import { parseBundle } from "../certs/bundle.js";
import { decideCertificate } from "../certs/certificate-decision.js";
import { describeFailure, OperatorError } from "../certs/failure.js";
import { serviceDnsNames } from "../certs/names.js";
import { buildTlsSecret, readPair } from "../certs/tls-secret.js";
import {
  applyCaBundles,
  kubeWebhookConfigurations,
  planCaBundles,
  readWebhookConfiguration,
  type WebhookConfigurations,
} from "../certs/webhook-config.js";
import { parseCommandLine } from "../config/command-line.js";
import type { Config } from "../config/config.js";
import { loadKubeConfig } from "../kube/kube-config.js";
import { kubeSecretStore, type SecretStore } from "../kube/secret-store.js";
import { inspectCertificate, issueServingBundle } from "../tls/issue.js";

const DAY_MS = 86_400_000;

export interface CertsDeps {
  readonly secrets: SecretStore;
  readonly webhookConfigurations: WebhookConfigurations;
  readonly now: () => Date;
}

/**
 * `ecr-webhook certs`: issue or reuse the serving certificate in the TLS Secret and make every
 * webhook of the MutatingWebhookConfiguration trust it. The same from a Job or a workstation:
 * 0 when done, 1 with one sentence when something is in the way. Private keys are never printed.
 */
export async function runCerts(argv: string[], out: (text: string) => void = console.log): Promise<number> {
  const { config } = parseCommandLine("certs", argv, process.env);
  const kc = loadKubeConfig();
  const deps: CertsDeps = {
    secrets: kubeSecretStore(kc),
    webhookConfigurations: kubeWebhookConfigurations(kc),
    now: () => new Date(),
  };
  try {
    await ensureCertificate(config, deps, out);
    return 0;
  } catch (error) {
    out(`✗ ${describeFailure("certs", error)}`);
    return 1;
  }
}

async function readSecret(
  secrets: SecretStore,
  namespace: string,
  name: string,
): Promise<V1Secret | undefined> {
  try {
    return await secrets.read(namespace, name);
  } catch (error) {
    throw new OperatorError(describeFailure(`Reading Secret ${namespace}/${name}`, error));
  }
}

function patchedLine(
  webhookConfig: string,
  r: { patched: number; webhooks: number; bundle: string },
): string {
  const cas = parseBundle(r.bundle).length;
  return r.patched === 0
    ? `✓ caBundle of all ${r.webhooks} webhooks of MutatingWebhookConfiguration ${webhookConfig} already trusts ca.crt`
    : `✓ caBundle patched for ${r.patched} webhook${r.patched === 1 ? "" : "s"} of MutatingWebhookConfiguration ${webhookConfig} (${cas} CA${cas === 1 ? "" : "s"} trusted)`;
}

export async function ensureCertificate(
  config: Config,
  deps: CertsDeps,
  out: (text: string) => void,
): Promise<void> {
  const namespace = config.webhookNamespace;
  const secretName = `${namespace}/${config.tlsSecret}`;
  // The configuration first: without it nothing would trust a certificate, so none is issued.
  const webhookConfig = await readWebhookConfiguration(deps.webhookConfigurations, config.webhookConfig);
  const existing = await readSecret(deps.secrets, namespace, config.tlsSecret);
  const pair = existing && readPair(existing);
  const dnsNames = serviceDnsNames(config.service, namespace);
  const now = deps.now();
  const decision = decideCertificate({ existing: pair, dnsNames, now, renewBeforeMs: config.renewBeforeMs });

  if (decision.action === "reuse") {
    const until = decision.notAfter.toISOString();
    out(`✓ certificate reused: Secret ${secretName} is valid until ${until} for ${dnsNames.join(", ")}`);
    const ca = pair!.ca!;
    // The certificate may have been issued by someone else, or the caBundle reset by an apply.
    const result = await applyCaBundles(deps.webhookConfigurations, webhookConfig, (webhooks) =>
      planCaBundles({ webhooks, ca, now, onlyMissing: true }),
    );
    out(patchedLine(config.webhookConfig, result));
    return;
  }

  const bundle = await issueServingBundle({
    dnsNames,
    validityDays: config.validityMs / DAY_MS,
    now,
    // Old and new CA share the caBundle during the hand-over; each needs its own subject.
    caCommonName: `ecr-webhook-ca-${now.toISOString().replace(/\D/g, "").slice(0, 14)}-${randomBytes(3).toString("hex")}`,
  });
  const until = inspectCertificate(bundle.serving.cert).notAfter.toISOString();
  out(`✓ certificate issued for ${dnsNames.join(", ")}, valid until ${until} (${decision.why})`);
  // Trust before use: the API server must accept the new certificate before any pod can serve it,
  // and keep accepting the old one (previous CAs stay in the bundle) until every pod has reloaded.
  const result = await applyCaBundles(deps.webhookConfigurations, webhookConfig, (webhooks) =>
    planCaBundles({ webhooks, ca: bundle.ca.cert, previousCa: pair?.ca, now, onlyMissing: false }),
  );
  out(patchedLine(config.webhookConfig, result));
  const secret = buildTlsSecret(
    namespace,
    config.tlsSecret,
    { cert: bundle.serving.cert, key: bundle.serving.key, ca: bundle.ca.cert },
    existing,
  );
  try {
    if (existing) await deps.secrets.replace(secret);
    else await deps.secrets.create(secret);
  } catch (error) {
    throw new OperatorError(describeFailure(`Writing Secret ${secretName}`, error));
  }
  out(`✓ Secret ${secretName} ${existing ? "updated" : "created"} (tls.crt, tls.key, ca.crt)`);
}
