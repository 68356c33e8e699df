import type { V1ServiceAccount } from "@kubernetes/client-node";
import type { Operation } from "fast-json-patch";
import { ANNOTATION_ADDED_REFERENCE } from "../policy/keys.js";
import { serviceAccountPatch } from "../policy/pull-secret-reference.js";

const escapePointer = (key: string) => key.replace(/~/g, "~0").replace(/\//g, "~1");

/** Every patch starts by testing the resourceVersion it was computed from: a stale one fails (422). */
function guarded(sa: V1ServiceAccount, ops: Operation[]): Operation[] {
  if (ops.length === 0) return ops;
  return [{ op: "test", path: "/metadata/resourceVersion", value: sa.metadata?.resourceVersion }, ...ops];
}

/** Appends the reference (never overwriting what is there) and marks it as ecr-webhook's. */
export function addReferenceOps(sa: V1ServiceAccount, secretName: string): Operation[] {
  return guarded(sa, serviceAccountPatch(sa, secretName));
}

/** Removes the reference only if ecr-webhook added it; a reference a user wrote stays. */
export function removeReferenceOps(sa: V1ServiceAccount, secretName: string): Operation[] {
  if (sa.metadata?.annotations?.[ANNOTATION_ADDED_REFERENCE] !== secretName) return [];
  // The API server omits empty lists and maps, so when ours was the only entry the whole field goes:
  // that restores the object exactly as it was before the webhook touched it.
  const ops: Operation[] = [];
  const refs = sa.imagePullSecrets ?? [];
  const index = refs.findIndex((ref) => ref.name === secretName);
  if (index >= 0)
    ops.push({ op: "remove", path: refs.length === 1 ? "/imagePullSecrets" : `/imagePullSecrets/${index}` });
  const onlyAnnotation = Object.keys(sa.metadata?.annotations ?? {}).length === 1;
  ops.push({
    op: "remove",
    path: onlyAnnotation
      ? "/metadata/annotations"
      : `/metadata/annotations/${escapePointer(ANNOTATION_ADDED_REFERENCE)}`,
  });
  return guarded(sa, ops);
}
