/**
 * The one-shot commands against a real cluster, each with the identity it runs with in production:
 * `refresh` as the webhook, `certs` as the certs Job's ServiceAccount, `doctor` as an administrator
 * checking the webhook's permissions by impersonation.
 */
import { X509Certificate } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import { expect, it } from "vitest";
import { ENABLED } from "./support/cluster.js";
import { manifests, WEBHOOK_CONFIG, WEBHOOK_NAMESPACE } from "./support/install.js";
import { HOUR_MS, seedManagedSecret } from "./support/seed.js";
import { ACCOUNT, describeE2e, dockerConfigOf, REGISTRY, SECRET, useSuite } from "./support/suite.js";
import { runCli } from "../support/webhook-process.js";
import { environment } from "./support/environment.js";

const SERVICE_HOST = "ecr-webhook.ecr-webhook.svc";
const decode = (b64: string | undefined) => Buffer.from(b64 ?? "", "base64").toString("utf8");

describeE2e("refresh, certs and doctor against a real API server", () => {
  const suite = useSuite({ serveArgs: [`--default-account=${ACCOUNT}`, "--default-region=us-east-1"] });
  const readConfig = () =>
    suite.cluster.registration.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIG });
  const readTls = () =>
    suite.cluster.core.readNamespacedSecret({ namespace: WEBHOOK_NAMESPACE, name: "ecr-webhook-tls" });

  it("refresh: stale Secrets refreshed, a Secret that is not the webhook's a ✗ line and exit 1", async () => {
    const stale = await suite.namespace("refresh-stale", { labels: { ...ENABLED } });
    await seedManagedSecret(suite.cluster, stale, [REGISTRY], new Date(Date.now() - HOUR_MS));
    const foreign = await suite.namespace("refresh-foreign");
    await suite.cluster.core.createNamespacedSecret({
      namespace: foreign,
      body: { metadata: { name: SECRET }, type: "Opaque", stringData: { mine: "yes" } },
    });
    await suite.cluster.labelNamespace(foreign, { ...ENABLED });

    const result = await runCli(["refresh"], { kubeconfig: suite.kubeconfig, aws: suite.aws });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `✗ ${foreign}: Secret ${foreign}/${SECRET} exists and is not managed by ecr-webhook`,
    );
    expect(result.stdout).toMatch(/^✗ \d+ enabled namespaces: .* [1-9]\d* failed/m);
    const secret = await suite.cluster.core.readNamespacedSecret({ namespace: stale, name: SECRET });
    expect(dockerConfigOf(secret)[REGISTRY]?.password).toBe(suite.aws.tokens.at(-1)?.password);
    expect(`${result.stdout}${result.stderr}`).not.toContain(suite.aws.tokens.at(-1)!.password);
    // Left enabled, the foreign Secret would be doctor's business below.
    await suite.cluster.labelNamespace(foreign, { "ecr-webhook.io/inject": null });
  });

  it("certs, as the certs Job's ServiceAccount: issues, makes every webhook trust it, then reuses", async () => {
    await suite.cluster.apply(manifests("certs-job") as KubernetesObject[]);
    const kubeconfig = await suite.cluster.serviceAccountKubeconfig(WEBHOOK_NAMESPACE, "ecr-webhook-certs");
    const args = [
      "certs",
      `--namespace=${WEBHOOK_NAMESPACE}`,
      "--service=ecr-webhook",
      "--tls-secret=ecr-webhook-tls",
    ];
    const first = await runCli(args, { kubeconfig, aws: suite.aws });
    expect(first.stdout).toMatch(/✓ certificate issued for ecr-webhook, /);
    expect(first.code).toBe(0);

    const tls = await readTls();
    expect(tls.type).toBe("kubernetes.io/tls");
    const cert = new X509Certificate(decode(tls.data?.["tls.crt"]));
    const ca = new X509Certificate(decode(tls.data?.["ca.crt"]));
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.checkHost(SERVICE_HOST)).toBe(SERVICE_HOST);
    const config = await readConfig();
    for (const webhook of config.webhooks ?? []) {
      const bundle = decode(webhook.clientConfig.caBundle);
      expect(bundle).toContain(ca.toString().trim());
      // The CA the running process is served with stays trusted: nothing stopped calling it.
      expect(bundle).toContain(suite.tls.bundle.ca.cert.trim());
    }

    const second = await runCli(args, { kubeconfig, aws: suite.aws });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/✓ certificate reused/);
    expect((await readTls()).metadata?.resourceVersion).toBe(tls.metadata?.resourceVersion);
    expect((await readConfig()).metadata?.resourceVersion).toBe(config.metadata?.resourceVersion);

    // Within --renew-before of expiry: a new pair replaces the old one, and both CAs stay trusted.
    const renewed = await runCli([...args, "--validity=8761h", "--renew-before=8760h"], {
      kubeconfig,
      aws: suite.aws,
    });
    expect(renewed.stdout).toMatch(/✓ Secret ecr-webhook\/ecr-webhook-tls updated/);
    expect(renewed.code).toBe(0);
    const next = await readTls();
    expect(decode(next.data?.["ca.crt"])).not.toBe(ca.toString());
    for (const webhook of (await readConfig()).webhooks ?? []) {
      const bundle = decode(webhook.clientConfig.caBundle);
      expect(bundle).toContain(decode(next.data?.["ca.crt"]).trim());
      expect(bundle).toContain(ca.toString().trim());
    }
  });

  it("doctor, with the shipped registration: every check ✓, the leader included; ✗ once nobody leads", async () => {
    // The registration exactly as shipped (Service, not URL), with the caBundle certs wrote.
    const shipped = manifests("webhook-config").find((o) => o.kind === "MutatingWebhookConfiguration")!;
    const current = await readConfig();
    const caBundle = current.webhooks?.[0]?.clientConfig.caBundle;
    for (const webhook of shipped.webhooks as { clientConfig: Record<string, unknown> }[]) {
      webhook.clientConfig.caBundle = caBundle;
    }
    await suite.cluster.apply([shipped as KubernetesObject]);
    await expect.poll(() => suite.serve!.metric("ecr_webhook_leader"), { timeout: 40_000 }).toBe(1);

    const admin = environment().adminKubeconfig!;
    const doctor = [
      "doctor",
      `--namespace=${WEBHOOK_NAMESPACE}`,
      "--as-service-account=ecr-webhook:ecr-webhook",
    ];
    const healthy = await runCli(doctor, { kubeconfig: admin, aws: suite.aws });
    const failures = healthy.stdout.split("\n").filter((l) => l.startsWith("✗"));
    expect(failures, healthy.stdout).toEqual([]);
    expect(healthy.stdout).toMatch(/✓ .*leader.*renewed/i);
    expect(healthy.code).toBe(0);

    await suite.serve!.stop();
    const leaderless = await runCli(doctor, { kubeconfig: admin, aws: suite.aws });
    expect(leaderless.code).toBe(1);
    expect(leaderless.stdout).toMatch(/✗ .*[Ll]ease/);
  });
});
