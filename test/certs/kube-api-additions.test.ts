/**
 * The stand-in's resources added for `certs` and `doctor` (test/support/kube-api): cluster-scoped
 * MutatingWebhookConfigurations, SelfSubjectAccessReviews with denyAccess(), and GET /version,
 * through the unmodified @kubernetes/client-node.
 */
import {
  AdmissionregistrationV1Api,
  ApiException,
  AuthorizationV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  VersionApi,
  type V1ResourceAttributes,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startKubeApi, type KubeApiStandIn } from "../support/kube-api/index.js";

let api: KubeApiStandIn;
beforeEach(async () => {
  api = await startKubeApi();
});
afterEach(async () => {
  await api.close();
});

const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
const webhookConfig = {
  metadata: { name: "ecr-webhook" },
  webhooks: [
    {
      name: "pods.ecr-webhook.io",
      admissionReviewVersions: ["v1"],
      sideEffects: "NoneOnDryRun",
      clientConfig: { service: { name: "ecr-webhook", namespace: "ecr-webhook" } },
    },
  ],
};

async function codeOf(call: Promise<unknown>): Promise<number> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiException);
  return (error as ApiException<string>).code;
}

describe("mutatingwebhookconfigurations", () => {
  it("are created, read, listed, JSON-patched (a failed test is 422) and deleted, cluster-scoped", async () => {
    const admission = api.kubeConfig().makeApiClient(AdmissionregistrationV1Api);
    const created = await admission.createMutatingWebhookConfiguration({ body: webhookConfig });
    expect(created.metadata?.namespace).toBeUndefined();
    const rv = created.metadata!.resourceVersion!;
    const caBundle = Buffer.from("PEM").toString("base64");
    const add = { op: "add", path: "/webhooks/0/clientConfig/caBundle", value: caBundle };

    const patched = await admission.patchMutatingWebhookConfiguration(
      { name: "ecr-webhook", body: [{ op: "test", path: "/metadata/resourceVersion", value: rv }, add] },
      jsonPatch,
    );
    expect(patched.webhooks?.[0]?.clientConfig.caBundle).toBe(caBundle);
    expect(
      api.get("mutatingwebhookconfigurations", undefined, "ecr-webhook")?.metadata?.resourceVersion,
    ).not.toBe(rv);

    const stale = admission.patchMutatingWebhookConfiguration(
      { name: "ecr-webhook", body: [{ op: "test", path: "/metadata/resourceVersion", value: rv }, add] },
      jsonPatch,
    );
    expect(await codeOf(stale)).toBe(422);

    const read = await admission.readMutatingWebhookConfiguration({ name: "ecr-webhook" });
    expect(read.webhooks?.map((w) => w.name)).toEqual(["pods.ecr-webhook.io"]);
    expect((await admission.listMutatingWebhookConfiguration()).items).toHaveLength(1);
    await admission.deleteMutatingWebhookConfiguration({ name: "ecr-webhook" });
    expect(await codeOf(admission.readMutatingWebhookConfiguration({ name: "ecr-webhook" }))).toBe(404);
  });

  it("are seeded and inspected through put/get like the other resources", () => {
    api.put("mutatingwebhookconfigurations", "ignored", webhookConfig);
    expect(api.get("mutatingwebhookconfigurations", undefined, "ecr-webhook")?.kind).toBe(
      "MutatingWebhookConfiguration",
    );
    expect(api.listObjects("mutatingwebhookconfigurations")).toHaveLength(1);
  });
});

describe("selfsubjectaccessreviews and /version", () => {
  const ask = (kc: KubeConfig, resourceAttributes: V1ResourceAttributes) =>
    kc
      .makeApiClient(AuthorizationV1Api)
      .createSelfSubjectAccessReview({ body: { spec: { resourceAttributes } } })
      .then((r) => r.status?.allowed);

  it("allows everything but what denyAccess() names, per subject", async () => {
    const kc = api.kubeConfig();
    const secrets = { verb: "create", resource: "secrets" };
    expect(await ask(kc, secrets)).toBe(true);
    api.denyAccess(secrets);
    expect(await ask(kc, secrets)).toBe(false);
    expect(await ask(kc, { ...secrets, namespace: "team-a" })).toBe(false);
    expect(await ask(kc, { verb: "get", resource: "secrets" })).toBe(true);

    api.denyAccess((a) => a.user === "system:serviceaccount:x:y" && a.resource === "leases");
    const impersonating = new KubeConfig();
    impersonating.loadFromOptions({
      clusters: kc.getClusters(),
      contexts: kc.getContexts(),
      currentContext: kc.getCurrentContext(),
      users: kc.getUsers().map((u) => ({ ...u, impersonateUser: "system:serviceaccount:x:y" })),
    });
    expect(await ask(kc, { verb: "get", resource: "leases", group: "coordination.k8s.io" })).toBe(true);
    expect(await ask(impersonating, { verb: "get", resource: "leases", group: "coordination.k8s.io" })).toBe(
      false,
    );
    expect(api.requests.at(-1)?.impersonateUser).toBe("system:serviceaccount:x:y");

    api.allowAllAccess();
    expect(await ask(kc, secrets)).toBe(true);
    expect(api.listObjects("selfsubjectaccessreviews")).toEqual([]);
  });

  it("answers GET /version", async () => {
    const version = await api.kubeConfig().makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe("v1.30.0");
  });
});
