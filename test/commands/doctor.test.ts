import type { V1ResourceAttributes } from "@kubernetes/client-node";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCerts } from "../../src/commands/certs.js";
import { permissionChecks, WEBHOOK_PERMISSIONS } from "../../src/commands/doctor-rbac.js";
import { runDoctor } from "../../src/commands/doctor.js";
import { parseCommandLine } from "../../src/config/command-line.js";
import { startAwsStandIn, type AwsStandIn } from "../support/aws/index.js";
import { useAwsEndpoints } from "../support/aws-env.js";
import { ENABLED } from "../support/harness.js";
import { startKubeApi, type KubeApiStandIn } from "../support/kube-api/index.js";
import { managedSecret } from "../support/managed-secret.js";
import { build, one } from "../manifests/load.js";
import { microTime } from "../../src/kube/micro-time.js";

const HOUR = 3_600_000;
const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const WEST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const SEEDED_PASSWORDS = ["seeded-password-a", "seeded-password-b"];

let kube: KubeApiStandIn;
let aws: AwsStandIn;
let restoreEnv: () => void;
const savedKubeconfig = process.env.KUBECONFIG;

async function useCluster(api: KubeApiStandIn): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "ecr-webhook-doctor-"));
  await writeFile(join(dir, "config"), api.kubeConfig().exportConfig());
  process.env.KUBECONFIG = join(dir, "config");
}

/** A working installation: webhook-config applied, certs run, two enabled namespaces with fresh Secrets. */
beforeEach(async () => {
  kube = await startKubeApi();
  aws = await startAwsStandIn();
  restoreEnv = useAwsEndpoints(aws);
  const webhookConfig = build("webhook-config");
  kube.addNamespace("ecr-webhook");
  kube.put("mutatingwebhookconfigurations", undefined, one(webhookConfig, "MutatingWebhookConfiguration"));
  await useCluster(kube);
  expect(await runCerts([], () => {})).toBe(0);
  kube.addNamespace("team-a", { labels: ENABLED });
  kube.addNamespace("team-b", { labels: ENABLED });
  kube.addNamespace("other");
  const soon = (hours: number) => new Date(Date.now() + hours * HOUR);
  kube.put("secrets", "team-a", managedSecret("team-a", { [EAST]: SEEDED_PASSWORDS[0]! }, soon(11)));
  kube.put("secrets", "team-b", managedSecret("team-b", { [WEST]: SEEDED_PASSWORDS[1]! }, soon(9)));
  holdLease("replica-1", Date.now());
});

/** The leader Lease as a replica that renewed it at `renewedAt` left it. */
function holdLease(holder: string, renewedAt: number): void {
  kube.put("leases", "ecr-webhook", {
    metadata: { name: "ecr-webhook-leader" },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: 15,
      acquireTime: microTime(renewedAt - HOUR),
      renewTime: microTime(renewedAt),
    },
  });
}

afterEach(async () => {
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await kube.close();
  await aws.close();
  restoreEnv();
});

async function doctor(argv: string[] = []): Promise<{ code: number; lines: string[]; output: string }> {
  const lines: string[] = [];
  const code = await runDoctor(["--default-region=us-east-1", ...argv], (text) => lines.push(text));
  const output = lines.join("\n");
  // Nothing secret ever reaches the report: no token ECR issued, no password from a Secret.
  for (const secret of [...SEEDED_PASSWORDS, ...aws.tokens.map((t) => t.password)])
    expect(output).not.toContain(secret);
  expect(output).not.toMatch(/PRIVATE KEY|dockerconfigjson|Error: |\n\s+at /);
  return { code, lines, output };
}

const failed = (lines: string[]) => lines.filter((l) => l.startsWith("✗"));

describe("ecr-webhook doctor", () => {
  it("a healthy installation: every line ✓, exit 0", async () => {
    const { code, lines } = await doctor();
    expect(lines).toEqual([
      expect.stringMatching(/^✓ API server http:\/\/127\.0\.0\.1:\d+ reachable \(Kubernetes v1\.30\.0\)$/),
      "✓ RBAC: the current identity has all 16 permissions the webhook needs (from a workstation, add --as-service-account=ecr-webhook:ecr-webhook to check the webhook's own)",
      "✓ MutatingWebhookConfiguration ecr-webhook: 2 webhooks, each with a caBundle",
      expect.stringMatching(
        /^✓ serving certificate \(Secret ecr-webhook\/ecr-webhook-tls\) is trusted by every caBundle and names ecr-webhook\.ecr-webhook\.svc; valid until \S+ \(36\d days\)$/,
      ),
      expect.stringMatching(
        /^✓ leader: replica-1 holds the Lease ecr-webhook\/ecr-webhook-leader, renewed [01]s ago \(lease duration 15s\)$/,
      ),
      "✓ 2 enabled namespaces: team-a, team-b",
      expect.stringMatching(/^✓ pull Secrets: 2 of 2 enabled namespaces have one; oldest token 3\.0h old$/),
      "✓ pods: every pod in an enabled namespace that needs ECR has the reference",
      expect.stringMatching(
        /^✓ ECR: token for us-east-1 obtained as the default AWS credentials, valid until \S+$/,
      ),
      expect.stringMatching(
        /^✓ ECR: token for eu-west-1 obtained as the default AWS credentials, valid until \S+$/,
      ),
    ]);
    expect(code).toBe(0);
    expect(aws.count({ action: "GetAuthorizationToken" })).toBe(2);
  });

  it("a denied permission: its own ✗ line naming it, with the fix", async () => {
    kube.denyAccess({ verb: "create", resource: "secrets" });
    kube.denyAccess({ verb: "delete", resource: "secrets", name: "ecr-pull-secret" });
    kube.denyAccess({ verb: "update", resource: "leases", name: "ecr-webhook-leader" });
    const { code, lines } = await doctor();
    expect(failed(lines)).toEqual([
      "✗ RBAC: the current identity may not create secrets in every namespace — fix: grant create on secrets in the ClusterRole ecr-webhook (webhook-config/base/clusterrole.yaml) and kubectl apply -k webhook-config",
      '✗ RBAC: the current identity may not delete secrets named ecr-pull-secret in every namespace — fix: grant delete on secrets with resourceNames ["ecr-pull-secret"] (it must match --secret-name) in the ClusterRole ecr-webhook (webhook-config/base/clusterrole.yaml) and kubectl apply -k webhook-config',
      "✗ RBAC: the current identity may not update leases.coordination.k8s.io named ecr-webhook-leader in namespace ecr-webhook — fix: grant update in the leader-election Role (webhook-config/base/role-leader-election.yaml) and kubectl apply -k webhook-config",
    ]);
    expect(code).toBe(1);
  });

  it("--as-service-account asks as the webhook's ServiceAccount, by impersonation", async () => {
    const sa = "system:serviceaccount:ecr-webhook:ecr-webhook";
    kube.denyAccess((a) => a.user === sa && a.resource === "namespaces" && a.verb === "watch");
    const { code, lines } = await doctor(["--as-service-account=ecr-webhook:ecr-webhook"]);
    expect(failed(lines)).toEqual([
      expect.stringMatching(
        /^✗ RBAC: ServiceAccount ecr-webhook\/ecr-webhook may not watch namespaces in every namespace — fix: /,
      ),
    ]);
    expect(code).toBe(1);
    const reviews = kube.requests.filter((r) => r.resource === "selfsubjectaccessreviews");
    expect(reviews).toHaveLength(16);
    expect(reviews.every((r) => r.impersonateUser === sa)).toBe(true);
    // Only the access reviews are impersonated; everything else reads as the operator.
    expect(kube.requests.filter((r) => r.impersonateUser).length).toBe(16);
  });

  it("a webhook without caBundle: ✗ naming it, with certs as the fix", async () => {
    const config = kube.get("mutatingwebhookconfigurations", undefined, "ecr-webhook")!;
    delete (config.webhooks as any[])[1].clientConfig.caBundle;
    kube.put("mutatingwebhookconfigurations", undefined, config);
    const { code, lines } = await doctor();
    expect(failed(lines)).toEqual([
      "✗ MutatingWebhookConfiguration ecr-webhook: no caBundle in serviceaccounts.ecr-webhook.io — fix: ecr-webhook certs (or kubectl apply -k certs-job)",
    ]);
    expect(code).toBe(1);
  });

  it("a caBundle that does not trust the serving certificate, and a missing configuration", async () => {
    const config = kube.get("mutatingwebhookconfigurations", undefined, "ecr-webhook")!;
    const other = Buffer.from(
      (kube.get("secrets", "ecr-webhook", "ecr-webhook-tls")!.data as any)["tls.crt"],
      "base64",
    );
    (config.webhooks as any[])[0].clientConfig.caBundle = other.toString("base64");
    kube.put("mutatingwebhookconfigurations", undefined, config);
    expect(failed((await doctor()).lines)).toEqual([
      "✗ serving certificate (Secret ecr-webhook/ecr-webhook-tls): the caBundle of pods.ecr-webhook.io does not trust it — fix: ecr-webhook certs (or kubectl apply -k certs-job)",
    ]);
    kube.remove("mutatingwebhookconfigurations", undefined, "ecr-webhook");
    expect(failed((await doctor()).lines)).toEqual([
      "✗ MutatingWebhookConfiguration ecr-webhook does not exist — fix: kubectl apply -k webhook-config, then ecr-webhook certs (or kubectl apply -k certs-job)",
    ]);
  });

  it("an unreadable TLS Secret: ✗ with the fix, or the certificate from --tls-cert-file", async () => {
    const tlsSecret = (r: { resource?: string; name?: string }) =>
      r.resource === "secrets" && r.name === "ecr-webhook-tls";
    kube.failNext({ status: 403, match: tlsSecret });
    expect(failed((await doctor()).lines)).toEqual([
      "✗ Reading TLS Secret ecr-webhook/ecr-webhook-tls failed: forbidden: injected failure (HTTP 403) — fix: pass --tls-cert-file=<the serving certificate>, or run doctor as an identity that may read that Secret",
    ]);
    const file = join(await mkdtemp(join(tmpdir(), "ecr-webhook-doctor-")), "tls.crt");
    const data = kube.get("secrets", "ecr-webhook", "ecr-webhook-tls")!.data as Record<string, string>;
    await writeFile(file, Buffer.from(data["tls.crt"]!, "base64"));
    kube.failNext({ status: 403, match: tlsSecret });
    const { code, lines } = await doctor([`--tls-cert-file=${file}`]);
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^✓ serving certificate \\(${file}\\) is trusted`)),
    );
    expect(code).toBe(0);
  });

  it("an expiring token: ✗ for its namespace with refresh as the fix", async () => {
    kube.put(
      "secrets",
      "team-b",
      managedSecret("team-b", { [WEST]: SEEDED_PASSWORDS[1]! }, new Date(Date.now() + 2 * HOUR)),
    );
    const { code, lines } = await doctor();
    expect(failed(lines)).toEqual([
      `✗ team-b: token below --min-token-ttl 6h: ${WEST} in 2.0h — fix: ecr-webhook refresh, then check the rotation logs of the webhook's leader`,
    ]);
    expect(lines).toContain("✓ pull Secrets: 2 of 2 enabled namespaces have one; oldest token 10.0h old");
    expect(code).toBe(1);
  });

  it("nobody leading: ✗ naming the last holder and how long ago it renewed, with where to look", async () => {
    holdLease("replica-1", Date.now() - 5 * 60_000);
    const stale = await doctor();
    expect(failed(stale.lines)).toEqual([
      expect.stringMatching(
        /^✗ leader Lease ecr-webhook\/ecr-webhook-leader is held by replica-1 but renewed 30\ds ago \(lease duration 15s\): the holder stopped renewing — fix: .*"cannot become leader"/,
      ),
    ]);
    expect(stale.code).toBe(1);
    kube.remove("leases", "ecr-webhook", "ecr-webhook-leader");
    expect(failed((await doctor()).lines)).toEqual([
      expect.stringMatching(/^✗ no leader Lease ecr-webhook\/ecr-webhook-leader: no replica has ever led/),
    ]);
  });

  it("pods a fail-open admitted without the reference: ✗ naming them, with what to do", async () => {
    kube.put("serviceaccounts", "team-a", { metadata: { name: "default" } });
    const pod = (name: string, image: string, extra: object = {}) =>
      kube.put("pods", "team-a", {
        metadata: { name },
        spec: { containers: [{ name: "c", image }], ...extra },
      });
    pod("missed", `${EAST}/app:1`);
    pod("served", `${EAST}/app:1`, { imagePullSecrets: [{ name: "ecr-pull-secret" }] });
    pod("public", "docker.io/library/busybox:1");
    const { code, lines } = await doctor();
    expect(failed(lines)).toEqual([
      expect.stringMatching(
        /^✗ 1 pod in enabled namespaces need ECR but have no ecr-pull-secret reference: team-a\/missed — fix: they were admitted while the webhook was unreachable/,
      ),
    ]);
    expect(code).toBe(1);
  });

  it("ECR failing: ✗ per region, naming the credentials to fix", async () => {
    process.env.AWS_ACCESS_KEY_ID = "AKIDNOTKNOWNNOTKNOWN";
    const { code, lines } = await doctor();
    expect(failed(lines)).toEqual([
      expect.stringMatching(
        /^✗ ECR GetAuthorizationToken for us-east-1 as default failed: UnrecognizedClientException: .* — fix: give the webhook AWS credentials allowed ecr:GetAuthorizationToken: AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY .*IRSA/,
      ),
      expect.stringMatching(/^✗ ECR GetAuthorizationToken for eu-west-1 as default failed: /),
    ]);
    expect(code).toBe(1);
  });

  it("--ecr-public: ECR Public's token checked too, as the default credentials", async () => {
    const healthy = await doctor(["--ecr-public=true"]);
    expect(healthy.lines.at(-1)).toMatch(
      /^✓ ECR Public: token obtained as the default AWS credentials, valid until \S+$/,
    );
    expect(aws.count({ service: "ecr-public", action: "GetAuthorizationToken", region: "us-east-1" })).toBe(
      1,
    );
    process.env.AWS_ACCESS_KEY_ID = "AKIDNOTKNOWNNOTKNOWN";
    const { code, lines } = await doctor(["--ecr-public=true"]);
    expect(failed(lines).at(-1)).toMatch(
      /^✗ ECR Public GetAuthorizationToken for us-east-1 as default failed: UnrecognizedClientException: .* — fix: allow the default AWS credentials ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken, or turn --ecr-public off$/,
    );
    expect(code).toBe(1);
  });

  it("an unreachable API server: ✗ with the fix, cluster checks skipped, AWS still checked", async () => {
    const url = kube.url;
    await kube.close();
    const { code, lines } = await doctor();
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^✗ Reaching the API server ${url} failed: .*ECONNREFUSED.* — fix: check KUBECONFIG and its current context`,
        ),
      ),
      expect.stringMatching(/^✓ ECR: token for us-east-1 obtained/),
    ]);
    expect(code).toBe(1);
  });
});

describe("the RBAC table", () => {
  /** Whether the shipped rules grant a permission (namespaced Roles only in their namespace). */
  function granted(p: V1ResourceAttributes): boolean {
    const objects = build("webhook-config");
    const roles = [
      one(objects, "ClusterRole", "ecr-webhook"),
      one(objects, "Role", "ecr-webhook-leader-election"),
    ];
    return roles.some(
      (role) =>
        (role.kind === "ClusterRole" || role.metadata.namespace === p.namespace) &&
        (role.rules as any[]).some(
          (rule) =>
            rule.apiGroups.includes(p.group ?? "") &&
            rule.resources.includes(p.resource) &&
            rule.verbs.includes(p.verb) &&
            (!rule.resourceNames || rule.resourceNames.includes(p.name)),
        ),
    );
  }

  it("asks only for what the shipped ClusterRole and leader-election Role grant", () => {
    const { config } = parseCommandLine("doctor", [], {});
    const checks = permissionChecks(config);
    expect(checks).toHaveLength(WEBHOOK_PERMISSIONS.flatMap((p) => p.verbs).length);
    for (const permission of checks) expect(granted(permission), JSON.stringify(permission)).toBe(true);
  });
});
