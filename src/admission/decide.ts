import type { Operation } from "fast-json-patch";
import type { AdmissionPolicy } from "../config/config.js";
import type { EcrRegistry } from "../registry/ecr-registry.js";
import { defaultRegistry } from "../policy/default-registry.js";
import { applyAllowLists } from "../policy/allow-lists.js";
import { ANNOTATION_INJECT } from "../policy/keys.js";
import { namespaceEnabled, type NamespaceMeta } from "../policy/namespace.js";
import {
  imagePullSecretsPatch,
  removeReferencePatch,
  serviceAccountPatch,
} from "../policy/pull-secret-reference.js";
import { podAnnotations, registriesForPod } from "./pod-registries.js";
import type { AdmissionRequest } from "./review.js";

export type Target = "Pod" | "ServiceAccount";

/** The outcome of one review, as plain data: nothing here has touched the network. */
export type Decision =
  | { readonly action: "skip"; readonly reason: string; readonly warnings: readonly string[] }
  | {
      readonly action: "inject";
      readonly target: Target;
      /** Registries whose entries must be in the namespace's Secret before the object is admitted. */
      readonly registries: readonly EcrRegistry[];
      readonly patch: readonly Operation[];
      readonly warnings: readonly string[];
    }
  | {
      /** An opted-out pod that the API server gave the reference anyway (from its ServiceAccount). */
      readonly action: "strip";
      readonly target: "Pod";
      readonly reason: string;
      /** Removes the reference to the webhook's Secret; every other entry stays. */
      readonly patch: readonly Operation[];
      readonly warnings: readonly string[];
    };

const skip = (reason: string, warnings: readonly string[] = []): Decision => ({
  action: "skip",
  reason,
  warnings,
});

function targetOf(request: AdmissionRequest): Target | undefined {
  if (request.kind.group !== "" || request.kind.version !== "v1" || request.subResource) return undefined;
  return request.kind.kind === "Pod" || request.kind.kind === "ServiceAccount"
    ? request.kind.kind
    : undefined;
}

/**
 * What a Pod or ServiceAccount CREATE in `namespace` needs: which registries, and what patch.
 * A plain function of its arguments, so every rule is tested with tables and fixtures.
 */
export function decide(
  request: AdmissionRequest,
  namespace: NamespaceMeta | undefined,
  policy: AdmissionPolicy,
): Decision {
  const target = targetOf(request);
  if (!target)
    return skip(
      `not a Pod or ServiceAccount (${request.kind.kind}${request.subResource ? `/${request.subResource}` : ""})`,
    );
  if (request.operation !== "CREATE") return skip(`operation ${request.operation}`);
  if (!namespace) return skip(`namespace ${request.namespace ?? "(none)"} is unknown`);
  if (!namespaceEnabled(namespace, policy)) return skip(`namespace ${namespace.name} is not enabled`);
  return target === "Pod"
    ? decidePod(request.object, namespace, policy)
    : decideServiceAccount(request.object, namespace, policy);
}

/**
 * A pod that opted out gets nothing of the webhook's. The API server's ServiceAccount admission runs
 * first and copies the ServiceAccount's list (which the webhook extended) into a pod that names none,
 * so such a pod would pull with the managed Secret all the same: that reference is taken out.
 */
function decideOptedOut(pod: unknown, policy: AdmissionPolicy): Decision {
  const reason = `pod annotation ${ANNOTATION_INJECT}=false`;
  const patch = removeReferencePatch((pod as { spec?: unknown }).spec, "/spec", policy.secretName);
  if (patch.length === 0) return skip(reason);
  return {
    action: "strip",
    target: "Pod",
    reason,
    patch,
    warnings: [
      `ecr-webhook: ${reason}: the ${policy.secretName} reference (from the pod's ServiceAccount) was removed; this pod gets no credentials from ecr-webhook`,
    ],
  };
}

function decidePod(pod: unknown, namespace: NamespaceMeta, policy: AdmissionPolicy): Decision {
  if (podAnnotations(pod)[ANNOTATION_INJECT] === "false") return decideOptedOut(pod, policy);
  const needs = registriesForPod(pod, policy);
  const permitted = applyAllowLists(needs.registries, namespace, policy);
  const warnings = [...needs.warnings, ...permitted.warnings];
  if (permitted.allowed.length === 0) return skip("pod needs no private ECR registry", warnings);
  const registries = permitted.allowed.slice(0, policy.maxRegistries);
  if (registries.length < permitted.allowed.length) {
    const left = permitted.allowed.slice(policy.maxRegistries).map((r) => r.host);
    warnings.push(
      `ecr-webhook: the pull Secret holds at most ${policy.maxRegistries} registries (--max-registries); no credentials for ${left.join(", ")}`,
    );
  }
  const spec = (pod as { spec?: unknown }).spec;
  return {
    action: "inject",
    target: "Pod",
    registries,
    patch: imagePullSecretsPatch(spec, "/spec", policy.secretName),
    warnings,
  };
}

function decideServiceAccount(
  serviceAccount: unknown,
  namespace: NamespaceMeta,
  policy: AdmissionPolicy,
): Decision {
  if (!policy.patchServiceAccounts) return skip("ServiceAccount patching is switched off");
  const registry = defaultRegistry(policy);
  const permitted = applyAllowLists(registry ? [registry] : [], namespace, policy);
  return {
    action: "inject",
    target: "ServiceAccount",
    registries: permitted.allowed,
    patch: serviceAccountPatch(serviceAccount, policy.secretName),
    warnings: permitted.warnings,
  };
}
