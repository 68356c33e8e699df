/**
 * Admission through a real API server: what the server stores after each kind of pod and
 * ServiceAccount create, with the webhook running as its own ServiceAccount under the shipped RBAC.
 */
import { CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import { expect, it } from "vitest";
import { ENABLED } from "./support/cluster.js";
import {
  ACCOUNT,
  capturingWarnings,
  describeE2e,
  dockerConfigOf,
  podBody,
  pullSecretNames,
  REGISTRY,
  SECRET,
  useSuite,
} from "./support/suite.js";

const OTHER_REGISTRY = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";

describeE2e("admission on a real API server", () => {
  const suite = useSuite({ serveArgs: [`--default-account=${ACCOUNT}`, "--default-region=us-east-1"] });

  const readSecret = (namespace: string): Promise<V1Secret | undefined> =>
    suite.cluster.core.readNamespacedSecret({ namespace, name: SECRET }).catch((error: { code?: number }) => {
      if (error.code === 404) return undefined;
      throw error;
    });
  const enabledNamespace = (prefix: string, annotations?: Record<string, string>) =>
    suite.namespace(prefix, { labels: { ...ENABLED }, annotations });
  const tokenFor = (region: string) => suite.aws.tokens.filter((t) => t.region === region).at(-1)?.password;

  it("a pod created directly is stored with the reference, and the Secret holds the token ECR issued", async () => {
    const namespace = await enabledNamespace("direct");
    const pod = await suite.cluster.core.createNamespacedPod({
      namespace,
      body: podBody("web", [`${REGISTRY}/shop/web:1`]),
    });
    expect(pullSecretNames(pod)).toContain(SECRET);
    const stored = await suite.cluster.core.readNamespacedPod({ namespace, name: "web" });
    expect(pullSecretNames(stored)).toContain(SECRET);
    const secret = await readSecret(namespace);
    expect(secret?.type).toBe("kubernetes.io/dockerconfigjson");
    expect(secret?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("ecr-webhook");
    expect(dockerConfigOf(secret!)[REGISTRY]?.password).toBe(tokenFor("us-east-1"));
  });

  it("generateName, an init container from another account and region, and a pull secret of its own", async () => {
    const namespace = await enabledNamespace("generated");
    const pod = await suite.cluster.core.createNamespacedPod({
      namespace,
      body: podBody("job-", [`${REGISTRY}/batch:2`], {
        initImages: [`${OTHER_REGISTRY}/tools@sha256:${"a".repeat(64)}`],
        imagePullSecrets: ["own-registry"],
      }),
    });
    expect(pod.metadata?.name).toMatch(/^job-/);
    const stored = await suite.cluster.core.readNamespacedPod({ namespace, name: pod.metadata!.name! });
    expect(pullSecretNames(stored)).toEqual(["own-registry", SECRET]);
    const auths = dockerConfigOf((await readSecret(namespace))!);
    expect(Object.keys(auths).sort()).toEqual([OTHER_REGISTRY, REGISTRY].sort());
    expect(auths[OTHER_REGISTRY]?.password).toBe(tokenFor("eu-west-1"));
  });

  it("pods a Deployment's ReplicaSet creates carry the reference", async (context) => {
    if (!suite.cluster.controllers) context.skip();
    const namespace = await enabledNamespace("deploy");
    const labels = { app: "api" };
    await suite.cluster.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "api" },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: "api", image: `${REGISTRY}/api:3` }] },
          },
        },
      },
    });
    await expect
      .poll(async () => (await suite.cluster.core.listNamespacedPod({ namespace })).items.length, {
        timeout: 30_000,
      })
      .toBe(2);
    for (const pod of (await suite.cluster.core.listNamespacedPod({ namespace })).items) {
      expect(pod.metadata?.ownerReferences?.[0]?.kind).toBe("ReplicaSet");
      expect(pullSecretNames(pod)).toContain(SECRET);
    }
    expect(dockerConfigOf((await readSecret(namespace))!)[REGISTRY]).toBeDefined();
  });

  it("a pod opted out by annotation keeps exactly its own list", async () => {
    const namespace = await enabledNamespace("optout");
    const pod = await suite.cluster.core.createNamespacedPod({
      namespace,
      body: podBody("manual", [`${OTHER_REGISTRY}/x:1`], {
        annotations: { "ecr-webhook.io/inject": "false" },
        imagePullSecrets: ["own-registry"],
      }),
    });
    expect(pullSecretNames(pod)).toEqual(["own-registry"]);
    const secret = await readSecret(namespace);
    expect(secret && dockerConfigOf(secret)[OTHER_REGISTRY]).toBeFalsy();
  });

  it("ServiceAccounts created in an enabled namespace get the reference, marked as the webhook's", async () => {
    const namespace = await enabledNamespace("sa");
    await suite.cluster.core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: "builder" } },
    });
    const sa = await suite.cluster.core.readNamespacedServiceAccount({ namespace, name: "builder" });
    expect(sa.imagePullSecrets?.map((r) => r.name)).toEqual([SECRET]);
    expect(sa.metadata?.annotations?.["ecr-webhook.io/added-pull-secret"]).toBe(SECRET);
    // The API server's ServiceAccount admission copies that reference into pods that name none.
    const pod = await suite.cluster.core.createNamespacedPod({
      namespace,
      body: {
        ...podBody("uses-sa", ["docker.io/library/busybox:1"]),
        spec: { serviceAccountName: "builder", containers: [{ name: "c", image: "busybox" }] },
      },
    });
    expect(pullSecretNames(pod)).toEqual([SECRET]);
  });

  it("a server-side dry run is patched but writes nothing and calls no AWS", async () => {
    const namespace = await enabledNamespace("dryrun");
    const image = "345678901234.dkr.ecr.eu-central-1.amazonaws.com/app:1";
    const host = "345678901234.dkr.ecr.eu-central-1.amazonaws.com";
    const before = suite.aws.count({ region: "eu-central-1" });
    const pod = await suite.cluster.core.createNamespacedPod({
      namespace,
      dryRun: "All",
      body: podBody("dry", [image], { imagePullSecrets: ["own"] }),
    });
    expect(pullSecretNames(pod)).toEqual(["own", SECRET]);
    await expect(suite.cluster.core.readNamespacedPod({ namespace, name: "dry" })).rejects.toMatchObject({
      code: 404,
    });
    expect(suite.aws.count({ region: "eu-central-1" })).toBe(before);
    const secret = await readSecret(namespace);
    expect(secret && dockerConfigOf(secret)[host]).toBeFalsy();
    // The same pod for real: now the entry is written (so the check above could have failed).
    await suite.cluster.core.createNamespacedPod({
      namespace,
      body: podBody("dry", [image], { imagePullSecrets: ["own"] }),
    });
    expect(dockerConfigOf((await readSecret(namespace))!)[host]).toBeDefined();
  });

  it("account and region annotations: within the namespace's allow-lists served, outside warned and not written", async () => {
    const namespace = await enabledNamespace("allow", {
      "ecr-webhook.io/allowed-accounts": ACCOUNT,
      "ecr-webhook.io/allowed-regions": "us-east-1,eu-west-1",
    });
    const warnings: string[] = [];
    const core = suite.cluster.kc.makeApiClient(CoreV1Api);
    await core.createNamespacedPod(
      {
        namespace,
        body: podBody("inside", [`${REGISTRY}/app:1`], {
          annotations: { "ecr-webhook.io/account": ACCOUNT, "ecr-webhook.io/region": "eu-west-1" },
        }),
      },
      capturingWarnings(warnings),
    );
    await core.createNamespacedPod(
      {
        namespace,
        body: podBody("outside", [`${REGISTRY}/app:1`], {
          annotations: { "ecr-webhook.io/account": "999999999999", "ecr-webhook.io/region": "ap-south-1" },
        }),
      },
      capturingWarnings(warnings),
    );
    const hosts = Object.keys(dockerConfigOf((await readSecret(namespace))!)).sort();
    expect(hosts).toEqual([`${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`, REGISTRY].sort());
    expect(warnings.join("\n")).toMatch(
      /no credentials for 999999999999\.dkr\.ecr\.ap-south-1\.amazonaws\.com/,
    );
    expect(suite.aws.count({ region: "ap-south-1" })).toBe(0);
  });

  it("an unmanaged Secret of the same name is left untouched and the tenant sees why", async () => {
    const namespace = await suite.namespace("unmanaged");
    const tenant = (await suite.cluster.tenant(namespace)).makeApiClient(CoreV1Api);
    const own = await tenant.createNamespacedSecret({
      namespace,
      body: { metadata: { name: SECRET }, type: "Opaque", stringData: { note: "mine" } },
    });
    await suite.cluster.labelNamespace(namespace, { ...ENABLED });
    const warnings: string[] = [];
    const pod = await tenant.createNamespacedPod(
      { namespace, body: podBody("app", [`${REGISTRY}/app:1`]) },
      capturingWarnings(warnings),
    );
    expect(pod.metadata?.name).toBe("app");
    expect(warnings.join("\n")).toMatch(/not managed by ecr-webhook/);
    const after = await readSecret(namespace);
    expect(after?.metadata?.resourceVersion).toBe(own.metadata?.resourceVersion);
    expect(after?.type).toBe("Opaque");
    await expect
      .poll(async () => (await tenant.listNamespacedEvent({ namespace })).items.map((e) => e.reason), {
        timeout: 15_000,
      })
      .toContain("UnmanagedPullSecret");
    const event = (await tenant.listNamespacedEvent({ namespace })).items.find(
      (e) => e.reason === "UnmanagedPullSecret",
    )!;
    expect(event.involvedObject).toMatchObject({ kind: "Secret", namespace, name: SECRET });
    expect(event.type).toBe("Warning");
  });

  it("a Secret deleted by hand is recreated by the next pod, before that pod is admitted", async () => {
    const namespace = await enabledNamespace("deleted");
    await suite.cluster.core.createNamespacedPod({
      namespace,
      body: podBody("first", [`${REGISTRY}/app:1`]),
    });
    expect(await readSecret(namespace)).toBeDefined();
    await suite.cluster.core.deleteNamespacedSecret({ namespace, name: SECRET });
    await expect.poll(() => readSecret(namespace), { timeout: 5_000 }).toBeUndefined();
    await suite.cluster.core.createNamespacedPod({
      namespace,
      body: podBody("second", [`${REGISTRY}/app:1`]),
    });
    const secret = await readSecret(namespace);
    expect(secret && dockerConfigOf(secret)[REGISTRY]?.password).toBe(tokenFor("us-east-1"));
  });

  it("a pod created right after the namespace is labelled is served", async () => {
    const namespace = await suite.namespace("justlabelled");
    await suite.cluster.labelNamespace(namespace, { ...ENABLED });
    const host = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
    const pod = await suite.cluster.core.createNamespacedPod({
      namespace,
      body: podBody("early", [`${host}/app:1`]),
    });
    expect(pullSecretNames(pod)).toContain(SECRET);
    expect(dockerConfigOf((await readSecret(namespace))!)[host]).toBeDefined();
  });

  it("opting in references existing ServiceAccounts; opting out removes every trace", async () => {
    const namespace = await suite.namespace("optin");
    await suite.cluster.core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: "builder" }, imagePullSecrets: [{ name: "own" }] },
    });
    await suite.cluster.labelNamespace(namespace, { ...ENABLED });
    const refs = async (name: string) =>
      (await suite.cluster.core.readNamespacedServiceAccount({ namespace, name })).imagePullSecrets?.map(
        (r) => r.name,
      ) ?? [];
    await expect.poll(() => refs("builder"), { timeout: 30_000 }).toEqual(["own", SECRET]);
    await expect.poll(() => refs("default"), { timeout: 30_000 }).toEqual([SECRET]);
    await expect
      .poll(() => readSecret(namespace).then((s) => s !== undefined), { timeout: 30_000 })
      .toBe(true);

    await suite.cluster.labelNamespace(namespace, { "ecr-webhook.io/inject": null });
    await expect.poll(() => readSecret(namespace), { timeout: 30_000 }).toBeUndefined();
    await expect.poll(() => refs("builder"), { timeout: 30_000 }).toEqual(["own"]);
    await expect.poll(() => refs("default"), { timeout: 30_000 }).toEqual([]);
    for (const name of ["builder", "default"]) {
      const sa = await suite.cluster.core.readNamespacedServiceAccount({ namespace, name });
      expect(sa.metadata?.annotations?.["ecr-webhook.io/added-pull-secret"]).toBeUndefined();
    }
  });
});
