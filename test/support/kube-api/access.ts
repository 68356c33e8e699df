/**
 * authorization.k8s.io/v1 SelfSubjectAccessReview: the stand-in has no RBAC, so every question is
 * answered "allowed" unless a test denied it with denyAccess(). The subject is the impersonated user
 * when the request carried Impersonate-User, else the stand-in's user.
 */
import { invalid } from "./status.js";
import type { KubeObject } from "./types.js";

export interface AccessAttributes {
  user: string;
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** A predicate, or fields that must all be equal ("namespace: ''" means cluster-wide). */
export type AccessFilter = ((attrs: AccessAttributes) => boolean) | Partial<AccessAttributes>;

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);

function matches(filter: AccessFilter, attrs: AccessAttributes): boolean {
  if (typeof filter === "function") return filter(attrs);
  return Object.entries(filter).every(
    ([key, value]) => (attrs[key as keyof AccessAttributes] ?? "") === (value ?? ""),
  );
}

export class AccessRules {
  private denied: AccessFilter[] = [];

  deny(filter: AccessFilter): void {
    this.denied.push(filter);
  }

  allowAll(): void {
    this.denied = [];
  }

  /** The review as the server returns it (201), with status.allowed filled in. */
  review(body: KubeObject, user: string): KubeObject {
    const spec = (body.spec ?? {}) as Record<string, unknown>;
    const ra = spec.resourceAttributes as Record<string, unknown> | undefined;
    const nra = spec.nonResourceAttributes as Record<string, unknown> | undefined;
    if (!ra && !nra) {
      throw invalid("SelfSubjectAccessReview", "authorization.k8s.io", "", [
        {
          type: "FieldValueRequired",
          field: "spec.resourceAttributes",
          body: "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
        },
      ]);
    }
    const attrs: AccessAttributes = ra
      ? {
          user,
          verb: str(ra.verb) ?? "",
          group: str(ra.group) ?? "",
          resource: str(ra.resource) ?? "",
          subresource: str(ra.subresource),
          namespace: str(ra.namespace),
          name: str(ra.name),
        }
      : { user, verb: str(nra!.verb) ?? "", group: "", resource: str(nra!.path) ?? "" };
    const allowed = !this.denied.some((filter) => matches(filter, attrs));
    return {
      kind: "SelfSubjectAccessReview",
      apiVersion: "authorization.k8s.io/v1",
      metadata: { creationTimestamp: null as unknown as string },
      spec,
      status: allowed ? { allowed: true, reason: "allowed by the stand-in" } : { allowed: false },
    };
  }
}

/** What GET /version answers. */
export const VERSION_INFO = {
  major: "1",
  minor: "30",
  gitVersion: "v1.30.0",
  gitCommit: "7c48c2bd72b9bf5c44d21d7338cc7bea77d0ad2a",
  gitTreeState: "clean",
  buildDate: "2024-04-17T17:27:03Z",
  goVersion: "go1.22.2",
  compiler: "gc",
  platform: "linux/amd64",
};
