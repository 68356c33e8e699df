/**
 * Least privilege as the API server enforces it: what the shipped RBAC lets the webhook's
 * ServiceAccount do (and not), the admission-policy overlay fencing it further, deletes that only
 * remove the Secret that was read, and a renamed webhook namespace that stays excluded.
 */
import {
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  setHeaderOptions,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { afterAll, expect, it } from "vitest";
import { kubeSecretStore } from "../../src/kube/secret-store.js";
import { ENABLED } from "./support/cluster.js";
import { manifests, WEBHOOK_NAMESPACE } from "./support/install.js";
import { HOUR_MS, seedManagedSecret } from "./support/seed.js";
import {
  ACCOUNT,
  describeE2e,
  podBody,
  pullSecretNames,
  REGISTRY,
  SECRET,
  useSuite,
} from "./support/suite.js";
import { PROBE_AGENT } from "./support/rbac-report.js";
import { environment, serverAtLeast } from "./support/environment.js";
import { waitFor } from "./support/wait.js";

const POLICY = "ecr-webhook-fence";
/** Requests made as the webhook to be refused on purpose: kept out of the run's RBAC report. */
const probe = setHeaderOptions("User-Agent", PROBE_AGENT);

describeE2e("least privilege on a real API server", () => {
  const suite = useSuite({ serveArgs: [`--default-account=${ACCOUNT}`, "--default-region=us-east-1"] });
  const asWebhook = () => {
    const kc = new KubeConfig();
    kc.loadFromFile(suite.kubeconfig);
    return kc;
  };
  afterAll(async () => {
    // The fence stays with this file: other files run the webhook without it.
    await suite.cluster.registration
      .deleteValidatingAdmissionPolicyBinding({ name: POLICY })
      .catch(() => undefined);
    await suite.cluster.registration.deleteValidatingAdmissionPolicy({ name: POLICY }).catch(() => undefined);
  });

  it("the webhook's ServiceAccount may do what the code does and nothing more", async () => {
    const reviews = asWebhook().makeApiClient(AuthorizationV1Api);
    const can = async (
      verb: string,
      resource: string,
      extra: { group?: string; name?: string; namespace?: string } = {},
    ) =>
      (
        await reviews.createSelfSubjectAccessReview({
          body: { spec: { resourceAttributes: { verb, resource, ...extra } } },
        })
      ).status?.allowed === true;
    expect(await can("get", "secrets", { name: SECRET, namespace: "default" })).toBe(true);
    expect(await can("list", "secrets", { name: SECRET })).toBe(true);
    expect(await can("watch", "secrets", { name: SECRET })).toBe(true);
    for (const [verb, resource, extra] of [
      ["list", "secrets", {}],
      ["get", "secrets", { name: "some-other-secret", namespace: "default" }],
      ["patch", "secrets", { name: SECRET, namespace: "default" }],
      ["create", "events", { group: "events.k8s.io", namespace: "default" }],
      ["delete", "serviceaccounts", { namespace: "default", name: "default" }],
      [
        "update",
        "leases",
        { group: "coordination.k8s.io", namespace: "default", name: "ecr-webhook-leader" },
      ],
    ] as const) {
      expect(await can(verb, resource, extra), `${verb} ${resource} ${JSON.stringify(extra)}`).toBe(false);
    }
    // And for real: listing Secrets is refused unless the field selector names the pull Secret.
    const core = asWebhook().makeApiClient(CoreV1Api);
    await expect(core.listSecretForAllNamespaces({}, probe)).rejects.toMatchObject({ code: 403 });
    await core.listSecretForAllNamespaces({ fieldSelector: `metadata.name=${SECRET}` });
  });

  it("opt-out's delete removes only the Secret it read: one changed in between stays", async () => {
    const namespace = await suite.namespace("precondition", { labels: { ...ENABLED } });
    await seedManagedSecret(suite.cluster, namespace, [REGISTRY], new Date(Date.now() + 11 * HOUR_MS));
    const store = kubeSecretStore(asWebhook());
    const read = (await store.read(namespace, SECRET))!;
    // Someone writes the Secret between the webhook's read and its delete.
    await seedManagedSecret(suite.cluster, namespace, [REGISTRY], new Date(Date.now() + 10 * HOUR_MS));
    expect(await store.delete(read)).toBe(false);
    const current = (await store.read(namespace, SECRET))!;
    expect(current.metadata?.resourceVersion).not.toBe(read.metadata?.resourceVersion);
    expect(await store.delete(current)).toBe(true);
    expect(await store.read(namespace, SECRET)).toBeUndefined();
  });

  it("a namespace labelled ecr-webhook.io/exclude is never served, whatever its name", async () => {
    const namespace = await suite.namespace("renamed-webhook-home", {
      labels: { ...ENABLED, "ecr-webhook.io/exclude": "true" },
    });
    const pod = await suite.cluster.core.createNamespacedPod({
      namespace,
      body: podBody("p", [`${REGISTRY}/app:1`], { imagePullSecrets: ["own"] }),
    });
    expect(pullSecretNames(pod)).toEqual(["own"]);
    // The leader handles namespaces in the order it sees them: once a namespace enabled after this
    // one has its Secret, this one would have had it too.
    const later = await suite.namespace("enabled-after", { labels: { ...ENABLED } });
    await expect
      .poll(
        () =>
          suite.cluster.core.readNamespacedSecret({ namespace: later, name: SECRET }).then(
            () => true,
            () => false,
          ),
        {
          timeout: 30_000,
        },
      )
      .toBe(true);
    await expect(suite.cluster.core.readNamespacedSecret({ namespace, name: SECRET })).rejects.toMatchObject({
      code: 404,
    });
  });

  it("with the admission-policy overlay, a forged service-account-token Secret is refused and the webhook works", async (context) => {
    if (!serverAtLeast(1, 30)) {
      const why = `ValidatingAdmissionPolicy v1 needs kube-apiserver ≥ 1.30; this one is ${environment().serverVersion}`;
      console.log(`e2e: skipped the admission-policy overlay case: ${why}`);
      context.skip(why);
    }
    const core = asWebhook().makeApiClient(CoreV1Api);
    // Where nobody (not the webhook's own opt-in) has written the name yet.
    const victim = await suite.namespace("victim");
    const forged = {
      metadata: { name: SECRET, annotations: { "kubernetes.io/service-account.name": "default" } },
      type: "kubernetes.io/service-account-token",
    };
    // RBAC alone cannot tell: create cannot be restricted by name or type.
    await core.createNamespacedSecret({ namespace: victim, body: forged }, probe);
    await suite.cluster.core.deleteNamespacedSecret({ namespace: victim, name: SECRET });

    await suite.cluster.apply(
      manifests("webhook-config/overlays/admission-policy").filter((o) =>
        o.kind.startsWith("ValidatingAdmissionPolicy"),
      ) as KubernetesObject[],
    );
    // The API server picks the policy up asynchronously: wait until it refuses.
    const refusal = await waitFor(
      "the policy refusing a forged token Secret",
      () =>
        core.createNamespacedSecret({ namespace: victim, body: forged }, probe).then(
          async () => {
            await suite.cluster.core.deleteNamespacedSecret({ namespace: victim, name: SECRET });
            return undefined;
          },
          (error: { code?: number; body?: string }) => error,
        ),
      (error) => error?.code === 403,
    );
    expect(refusal?.body).toMatch(/ValidatingAdmissionPolicy 'ecr-webhook-fence'/);
    await expect(
      core.createNamespacedSecret(
        {
          namespace: WEBHOOK_NAMESPACE,
          body: {
            ...forged,
            type: "kubernetes.io/dockerconfigjson",
            metadata: { name: SECRET, labels: { "app.kubernetes.io/managed-by": "ecr-webhook" } },
            data: { ".dockerconfigjson": "e30=" },
          },
        },
        probe,
      ),
    ).rejects.toMatchObject({ code: 403 });

    // Everything the webhook itself does still passes: a pod's Secret, a ServiceAccount, opt-out.
    const target = await suite.namespace("fenced", { labels: { ...ENABLED } });
    const pod = await suite.cluster.core.createNamespacedPod({
      namespace: target,
      body: podBody("app", [`${REGISTRY}/app:1`]),
    });
    expect(pullSecretNames(pod)).toContain(SECRET);
    await suite.cluster.core.readNamespacedSecret({ namespace: target, name: SECRET });
    await suite.cluster.core.createNamespacedServiceAccount({
      namespace: target,
      body: { metadata: { name: "builder" } },
    });
    const refs = async (name: string) =>
      (
        await suite.cluster.core.readNamespacedServiceAccount({ namespace: target, name })
      ).imagePullSecrets?.map((r) => r.name) ?? [];
    await expect.poll(() => refs("default"), { timeout: 30_000 }).toEqual([SECRET]);
    await suite.cluster.labelNamespace(target, { "ecr-webhook.io/inject": null });
    await expect
      .poll(
        () =>
          suite.cluster.core.readNamespacedSecret({ namespace: target, name: SECRET }).then(
            () => true,
            () => false,
          ),
        { timeout: 30_000 },
      )
      .toBe(false);
    await expect.poll(() => refs("default"), { timeout: 30_000 }).toEqual([]);
    expect(suite.serve!.logged("namespace reconcile failed")).toEqual([]);
    expect(suite.serve!.logged("pull Secret not ensured")).toEqual([]);
  });
});
