/**
 * Installs the shipped manifests as an operator would (`kubectl apply -k webhook-config`), with one
 * change: the API server cannot reach a Service here, so the MutatingWebhookConfiguration calls the
 * webhook process by URL, with the caBundle of its serving certificate. Everything else (namespace
 * selector, failure policy, side effects, timeout, RBAC) is exactly what ships.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { build, type K8sObject } from "../../manifests/load.js";
import type { TestCluster } from "./cluster.js";
import { waitFor } from "./wait.js";

export const WEBHOOK_NAMESPACE = "ecr-webhook";
export const WEBHOOK_CONFIG = "ecr-webhook";

/** The objects of a kustomization directory, as `kubectl kustomize` builds them. */
export const manifests = (dir: string): K8sObject[] => build(dir);

export function pointedAt(config: K8sObject, url: string, caPem: string): KubernetesObject {
  const copy = structuredClone(config);
  for (const webhook of copy.webhooks as { clientConfig: Record<string, unknown> }[]) {
    webhook.clientConfig = { url: `${url}/mutate`, caBundle: Buffer.from(caPem).toString("base64") };
  }
  return copy as KubernetesObject;
}

/** Applies webhook-config/ with the webhook configuration calling `url`. */
export async function installWebhook(cluster: TestCluster, url: string, caPem: string): Promise<void> {
  const objects = manifests("webhook-config").map((o) =>
    o.kind === "MutatingWebhookConfiguration" ? pointedAt(o, url, caPem) : (o as KubernetesObject),
  );
  await cluster.apply(objects);
}

/** Points the installed configuration at another process (a restart on a new port, say). */
export async function registerWebhook(cluster: TestCluster, url: string, caPem: string): Promise<void> {
  const config = manifests("webhook-config").find((o) => o.kind === "MutatingWebhookConfiguration")!;
  await cluster.apply([pointedAt(config, url, caPem)]);
}

const PROBE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/probe:1";

/**
 * Waits until the API server calls the webhook: a server-side dry-run pod in an enabled namespace
 * comes back with the reference (the API server picks up configuration changes asynchronously).
 */
export async function waitUntilCalled(cluster: TestCluster, enabledNamespace: string): Promise<void> {
  await waitFor(
    "the API server calling the webhook",
    async () => {
      const pod = await cluster.core.createNamespacedPod({
        namespace: enabledNamespace,
        dryRun: "All",
        body: {
          metadata: { generateName: "probe-" },
          // A list of its own, so that a ServiceAccount's reference is not copied in instead.
          spec: { containers: [{ name: "c", image: PROBE_IMAGE }], imagePullSecrets: [{ name: "probe" }] },
        },
      });
      return (pod.spec?.imagePullSecrets ?? []).some((ref) => ref.name === "ecr-pull-secret");
    },
    (called) => called,
  );
}
