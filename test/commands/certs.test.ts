import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { checkTrust, parseBundle } from "../../src/certs/bundle.js";
import { runCerts } from "../../src/commands/certs.js";
import { inspectCertificate } from "../../src/tls/issue.js";
import { startKubeApi, type KubeApiStandIn, type KubeObject } from "../support/kube-api/index.js";
import { startTestWebhook, type TestWebhook } from "../support/webhook.js";

const NS = "ecr-webhook";
const SANS = [
  "ecr-webhook",
  "ecr-webhook.ecr-webhook",
  "ecr-webhook.ecr-webhook.svc",
  "ecr-webhook.ecr-webhook.svc.cluster.local",
];
/** The name the API server uses (clientConfig.service of the shipped configuration). */
const SERVICE_HOST = "ecr-webhook.ecr-webhook.svc";
const WRITES = new Set(["create", "update", "patch", "delete"]);

let api: KubeApiStandIn;
let webhook: TestWebhook | undefined;
const savedKubeconfig = process.env.KUBECONFIG;

/** The MutatingWebhookConfiguration exactly as shipped (two webhooks, no caBundle). */
const shippedWebhookConfig = (): KubeObject =>
  parse(
    readFileSync(
      new URL("../../webhook-config/base/mutatingwebhookconfiguration.yaml", import.meta.url),
      "utf8",
    ),
  );

beforeEach(async () => {
  api = await startKubeApi();
  api.addNamespace(NS);
  api.put("mutatingwebhookconfigurations", undefined, shippedWebhookConfig());
  const dir = await mkdtemp(join(tmpdir(), "ecr-webhook-certs-"));
  await writeFile(join(dir, "config"), api.kubeConfig().exportConfig());
  process.env.KUBECONFIG = join(dir, "config");
});

afterEach(async () => {
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await webhook?.close();
  webhook = undefined;
  await api.close();
});

async function certs(argv: string[] = []): Promise<{ code: number; output: string }> {
  let output = "";
  const code = await runCerts(argv, (text) => (output += `${text}\n`));
  return { code, output };
}

const pem = (secret: KubeObject | undefined, key: string) =>
  Buffer.from((secret?.data as Record<string, string>)[key]!, "base64").toString("utf8");
const tlsSecret = () => api.get("secrets", NS, "ecr-webhook-tls");
const caBundles = () =>
  (api.get("mutatingwebhookconfigurations", undefined, "ecr-webhook")!.webhooks as any[]).map((w) =>
    w.clientConfig.caBundle === undefined
      ? undefined
      : Buffer.from(w.clientConfig.caBundle, "base64").toString("utf8"),
  );
const fingerprints = (bundle: string | undefined) => parseBundle(bundle).map((c) => c.fingerprint256);
const fingerprint = (cert: string) => new X509Certificate(cert).fingerprint256;
const writes = () => api.requests.filter((r) => r.verb && WRITES.has(r.verb));

describe("ecr-webhook certs", () => {
  it("first run issues: a TLS Secret for every Service name, its CA in every webhook's caBundle, patched first", async () => {
    const { code, output } = await certs();
    expect(code).toBe(0);
    const lines = output.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^✓ certificate issued for ecr-webhook, .*valid until \S+ \(the Secret does not exist\)$/,
    );
    expect(lines[1]).toBe(
      "✓ caBundle patched for 2 webhooks of MutatingWebhookConfiguration ecr-webhook (1 CA trusted)",
    );
    expect(lines[2]).toBe("✓ Secret ecr-webhook/ecr-webhook-tls created (tls.crt, tls.key, ca.crt)");

    const secret = tlsSecret();
    expect(secret?.type).toBe("kubernetes.io/tls");
    expect(Object.keys(secret?.data as object).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    expect(inspectCertificate(pem(secret, "tls.crt")).dnsNames.sort()).toEqual([...SANS].sort());
    for (const bundle of caBundles()) {
      expect(fingerprints(bundle)).toEqual([fingerprint(pem(secret, "ca.crt"))]);
      expect(checkTrust(pem(secret, "tls.crt"), bundle, new Date())).toBeUndefined();
    }
    // The API server trusts the new CA before any pod can serve a certificate it signed.
    expect(writes().map((r) => `${r.verb} ${r.resource}`)).toEqual([
      "patch mutatingwebhookconfigurations",
      "create secrets",
    ]);
    expect(output).not.toMatch(/PRIVATE KEY/);
    expect(output).not.toContain((secret?.data as Record<string, string>)["tls.key"]);
  });

  it("second run reuses the certificate and writes nothing", async () => {
    await certs();
    api.clearRequests();
    const { code, output } = await certs();
    expect(code).toBe(0);
    expect(output).toMatch(
      /^✓ certificate reused: Secret ecr-webhook\/ecr-webhook-tls is valid until \S+ for ecr-webhook, /,
    );
    expect(output).toMatch(
      /✓ caBundle of all 2 webhooks of MutatingWebhookConfiguration ecr-webhook already trusts ca.crt\n$/,
    );
    expect(writes()).toEqual([]);
  });

  it("reissues when the Service names change", async () => {
    await certs();
    const { code, output } = await certs(["--service=other"]);
    expect(code).toBe(0);
    expect(output).toMatch(/\(the current certificate does not name other, other\.ecr-webhook, /);
    expect(output).toMatch(/✓ Secret ecr-webhook\/ecr-webhook-tls updated/);
    expect(inspectCertificate(pem(tlsSecret(), "tls.crt")).dnsNames).toContain("other.ecr-webhook.svc");
  });

  it("near expiry reissues, and the bundle keeps the old CA so both certificates are trusted", async () => {
    await certs(["--validity=24h", "--renew-before=1h"]);
    const old = { cert: pem(tlsSecret(), "tls.crt"), ca: pem(tlsSecret(), "ca.crt") };
    const { code, output } = await certs();
    expect(code).toBe(0);
    expect(output).toMatch(/within --renew-before 720h\)/);
    expect(output).toMatch(/\(2 CAs trusted\)/);
    const next = { cert: pem(tlsSecret(), "tls.crt"), ca: pem(tlsSecret(), "ca.crt") };
    expect(next.cert).not.toBe(old.cert);
    for (const bundle of caBundles()) {
      expect(fingerprints(bundle)).toEqual([fingerprint(next.ca), fingerprint(old.ca)]);
      expect(checkTrust(old.cert, bundle, new Date())).toBeUndefined();
      expect(checkTrust(next.cert, bundle, new Date())).toBeUndefined();
    }
  });

  it("on reuse, gives the CA back to a webhook whose caBundle was removed", async () => {
    await certs();
    const config = api.get("mutatingwebhookconfigurations", undefined, "ecr-webhook")!;
    delete (config.webhooks as any[])[1].clientConfig.caBundle;
    api.put("mutatingwebhookconfigurations", undefined, config);
    const { code, output } = await certs();
    expect(code).toBe(0);
    expect(output).toMatch(/✓ caBundle patched for 1 webhook of MutatingWebhookConfiguration ecr-webhook/);
    const ca = fingerprint(pem(tlsSecret(), "ca.crt"));
    expect(caBundles().map(fingerprints)).toEqual([[ca], [ca]]);
  });

  it("plans again when the configuration changed under the patch (422 from the failed test)", async () => {
    api.failNext({ status: 422, match: (r) => r.verb === "patch" });
    const { code } = await certs();
    expect(code).toBe(0);
    expect(api.count({ verb: "patch", resource: "mutatingwebhookconfigurations" })).toBe(2);
    expect(api.count({ verb: "get", resource: "mutatingwebhookconfigurations" })).toBe(2);
    expect(caBundles().every((b) => b !== undefined)).toBe(true);
  });

  it("without the MutatingWebhookConfiguration: one sentence, exit 1, nothing written", async () => {
    api.remove("mutatingwebhookconfigurations", undefined, "ecr-webhook");
    const { code, output } = await certs();
    expect(code).toBe(1);
    expect(output).toBe(
      "✗ MutatingWebhookConfiguration ecr-webhook does not exist: apply webhook-config first (kubectl apply -k webhook-config), then run certs again.\n",
    );
    expect(writes()).toEqual([]);
  });

  it("an API refusal is one sentence with the status, not a stack trace", async () => {
    api.failNext({ status: 403, match: (r) => r.resource === "secrets" });
    const { code, output } = await certs();
    expect(code).toBe(1);
    expect(output).toBe(
      "✗ Reading Secret ecr-webhook/ecr-webhook-tls failed: forbidden: injected failure (HTTP 403).\n",
    );
  });
});

/** Completes a TLS handshake as the API server would (trusting only `ca`, checking the Service name). */
function servedCertificate(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername: SERVICE_HOST, ca }, () => {
      const served = socket.getPeerX509Certificate()?.fingerprint256 ?? "";
      socket.destroy();
      resolve(served);
    });
    socket.on("error", reject);
  });
}

/** What kubelet does for a Secret mounted without subPath: the files change in place. */
async function mountSecret(target: TestWebhook): Promise<string> {
  await writeFile(target.certFile, pem(tlsSecret(), "tls.crt"));
  await writeFile(target.keyFile, pem(tlsSecret(), "tls.key"));
  return fingerprint(pem(tlsSecret(), "tls.crt"));
}

describe("a running webhook and certs", () => {
  it("serves a renewed certificate without a restart, trusted throughout by the caBundle", async () => {
    await certs(["--validity=24h", "--renew-before=1h"]);
    webhook = await startTestWebhook();
    const first = await mountSecret(webhook);
    const bundle = () => caBundles()[0]!;
    await expect
      .poll(() => servedCertificate(webhook!.port, bundle()).catch(() => ""), { timeout: 5_000 })
      .toBe(first);

    expect((await certs()).output).toMatch(/✓ certificate issued/);
    // Until the pod reloads, the old certificate is still served, and still trusted by the new bundle.
    expect(await servedCertificate(webhook.port, bundle())).toBe(first);
    const second = await mountSecret(webhook);
    expect(second).not.toBe(first);
    await expect
      .poll(() => servedCertificate(webhook!.port, bundle()), { timeout: 5_000, interval: 25 })
      .toBe(second);
  });
});
