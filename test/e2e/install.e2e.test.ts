/**
 * The shipped manifests as the API server takes them: every object stored, and the webhook's own
 * pods admitted under the "restricted" Pod Security Standard its namespace enforces.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { expect, it } from "vitest";
import { manifests, WEBHOOK_NAMESPACE } from "./support/install.js";
import { describeE2e, useSuite } from "./support/suite.js";

describeE2e("the shipped manifests on a real API server", () => {
  const suite = useSuite({ serveArgs: null });

  it("stores every object of webhook-config/ and certs-job/", async () => {
    await suite.cluster.apply(manifests("certs-job") as KubernetesObject[]);
    for (const object of [...manifests("webhook-config"), ...manifests("certs-job")]) {
      const stored = await suite.cluster.objects.read(
        object as KubernetesObject & { metadata: { name: string } },
      );
      expect(stored.metadata?.uid, `${object.kind}/${object.metadata.name}`).toBeTruthy();
    }
  });

  it("the Deployment's pods pass the namespace's restricted Pod Security admission", async (context) => {
    if (!suite.cluster.controllers) context.skip();
    await expect
      .poll(
        async () =>
          (
            await suite.cluster.core.listNamespacedPod({
              namespace: WEBHOOK_NAMESPACE,
              labelSelector: "app.kubernetes.io/name=ecr-webhook,app.kubernetes.io/component=webhook",
            })
          ).items.length,
        { timeout: 30_000 },
      )
      .toBe(2);
    const namespace = await suite.cluster.core.readNamespace({ name: WEBHOOK_NAMESPACE });
    expect(namespace.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });
});
