/**
 * --patch-service-accounts=false: ServiceAccounts are never touched, neither when created nor when a
 * namespace opts in; pods get the reference from the webhook alone.
 */
import { expect, it } from "vitest";
import { ENABLED } from "./support/cluster.js";
import {
  ACCOUNT,
  describeE2e,
  podBody,
  pullSecretNames,
  REGISTRY,
  SECRET,
  useSuite,
} from "./support/suite.js";

describeE2e("--patch-service-accounts=false on a real API server", () => {
  const suite = useSuite({
    serveArgs: [
      "--patch-service-accounts=false",
      `--default-account=${ACCOUNT}`,
      "--default-region=us-east-1",
    ],
  });
  const refs = async (namespace: string, name: string) =>
    (await suite.cluster.core.readNamespacedServiceAccount({ namespace, name })).imagePullSecrets?.map(
      (r) => r.name,
    ) ?? [];

  it("a ServiceAccount created in an enabled namespace is stored as sent", async () => {
    const namespace = await suite.namespace("sa-off", { labels: { ...ENABLED } });
    await suite.cluster.core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: "builder" } },
    });
    const sa = await suite.cluster.core.readNamespacedServiceAccount({ namespace, name: "builder" });
    expect(sa.imagePullSecrets).toBeUndefined();
    expect(sa.metadata?.annotations).toBeUndefined();
  });

  it("opting a namespace in leaves its ServiceAccounts alone; its pods get the reference", async () => {
    const namespace = await suite.namespace("optin-off");
    await suite.cluster.core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: "builder" } },
    });
    await suite.cluster.labelNamespace(namespace, { ...ENABLED });
    // The reconciler has run once the default registry's Secret exists.
    await expect
      .poll(
        () =>
          suite.cluster.core.readNamespacedSecret({ namespace, name: SECRET }).then(
            () => true,
            () => false,
          ),
        {
          timeout: 30_000,
        },
      )
      .toBe(true);
    expect(await refs(namespace, "builder")).toEqual([]);
    expect(await refs(namespace, "default")).toEqual([]);
    const pod = await suite.cluster.core.createNamespacedPod({
      namespace,
      body: podBody("app", [`${REGISTRY}/app:1`]),
    });
    expect(pullSecretNames(pod)).toEqual([SECRET]);
  });

  it("a pod opted out by annotation gets no reference at all", async () => {
    const namespace = await suite.namespace("optout-off", { labels: { ...ENABLED } });
    const pod = await suite.cluster.core.createNamespacedPod({
      namespace,
      body: podBody("manual", [`${REGISTRY}/app:1`], { annotations: { "ecr-webhook.io/inject": "false" } }),
    });
    expect(pullSecretNames(pod)).toEqual([]);
  });
});
