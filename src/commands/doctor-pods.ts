import { CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { decide } from "../admission/decide.js";
import type { AdmissionPolicy } from "../config/config.js";
import { apiListPages } from "../kube/list-pages.js";
import { LIST_TIMEOUT_MS, withTimeout } from "../kube/request-options.js";
import type { NamespaceMeta } from "../policy/namespace.js";
import { mapLimit } from "../util/map-limit.js";
import type { CheckResult } from "./doctor-checks.js";

const SHOWN = 5;

/**
 * Whether a pod the API server stored is one the webhook would have patched now: it needs private
 * ECR credentials in an enabled namespace and lacks the reference. The same decision as admission,
 * over the pod as stored, so the two never disagree.
 */
export function admittedWithoutReference(
  pod: V1Pod,
  namespace: NamespaceMeta,
  policy: AdmissionPolicy,
): boolean {
  const decision = decide(
    {
      uid: "doctor",
      kind: { group: "", version: "v1", kind: "Pod" },
      namespace: namespace.name,
      operation: "CREATE",
      object: pod,
    },
    namespace,
    policy,
  );
  return decision.action === "inject" && decision.registries.length > 0 && decision.patch.length > 0;
}

async function podsOf(api: CoreV1Api, namespace: string): Promise<V1Pod[]> {
  const pods: V1Pod[] = [];
  const pages = apiListPages((page) =>
    api.listNamespacedPod({ namespace, ...page }, withTimeout(LIST_TIMEOUT_MS)),
  );
  for await (const page of pages) pods.push(...page);
  return pods;
}

/**
 * The trace a fail-open leaves: pods in enabled namespaces that need ECR credentials but were
 * admitted without the reference (the webhook was unreachable, or the namespace was enabled after
 * they were created). Their image pulls fail once no ServiceAccount reference covers them.
 */
export async function checkUnreviewedPods(
  kc: KubeConfig,
  policy: AdmissionPolicy & { rotationConcurrency: number },
  namespaces: readonly NamespaceMeta[],
): Promise<CheckResult> {
  const api = kc.makeApiClient(CoreV1Api);
  const found = (
    await mapLimit(namespaces, policy.rotationConcurrency, async (ns) =>
      (await podsOf(api, ns.name))
        .filter((pod) => admittedWithoutReference(pod, ns, policy))
        .map((pod) => `${ns.name}/${pod.metadata?.name ?? "?"}`),
    )
  ).flat();
  if (found.length === 0) {
    return { ok: true, line: "pods: every pod in an enabled namespace that needs ECR has the reference" };
  }
  const shown =
    found.slice(0, SHOWN).join(", ") + (found.length > SHOWN ? `, … (${found.length - SHOWN} more)` : "");
  return {
    ok: false,
    line: `${found.length} pod${found.length === 1 ? "" : "s"} in enabled namespaces need ECR but have no ${policy.secretName} reference: ${shown}`,
    fix: "they were admitted while the webhook was unreachable (failurePolicy Ignore) or before their namespace opted in; recreate them (kubectl rollout restart their workload) and check the API server's log for failed webhook calls",
  };
}
