/** The resources the stand-in serves, and how a URL + method maps to one of them and a verb. */
import type { FieldGetter } from "./selectors.js";
import type { KubeObject, KubeVerb, ResourcePlural } from "./types.js";

export interface ResourceDef {
  /** Storage key; events of both API groups share one store, as in the real server. */
  plural: ResourcePlural;
  group: string;
  version: string;
  kind: string;
  namespaced: boolean;
  /** Verbs served. */
  verbs: ReadonlySet<KubeVerb>;
  /** Verbs refused with an RBAC-style 403 (the product must never use them); others get 405. */
  forbidden: ReadonlySet<KubeVerb>;
  /** Name format: namespaces are DNS-1123 labels, the rest DNS-1123 subdomains. */
  nameFormat: "label" | "subdomain";
  fields: FieldGetter;
}

const str = (v: unknown) => (typeof v === "string" ? v : "");

const metaFields: FieldGetter = (obj, field) => {
  if (field === "metadata.name") return str(obj.metadata?.name);
  if (field === "metadata.namespace") return str(obj.metadata?.namespace);
  return undefined;
};

const sub = (obj: KubeObject, key: string) => (obj[key] ?? {}) as Record<string, unknown>;

const withFields =
  (extra: Record<string, (obj: KubeObject) => string>): FieldGetter =>
  (obj, field) =>
    metaFields(obj, field) ?? extra[field]?.(obj);

const ALL: KubeVerb[] = ["get", "list", "watch", "create", "update", "patch", "delete"];
const verbs = (...v: KubeVerb[]) => new Set<KubeVerb>(v);

const core = { group: "", version: "v1" };

export const RESOURCES: readonly ResourceDef[] = [
  {
    ...core,
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
    verbs: verbs(...ALL),
    forbidden: verbs("deletecollection"),
    nameFormat: "label",
    fields: withFields({ "status.phase": (o) => str(sub(o, "status").phase) }),
  },
  {
    ...core,
    plural: "secrets",
    kind: "Secret",
    namespaced: true,
    // list/watch only with a field selector naming a listable Secret (see server.ts authorize).
    verbs: verbs("get", "list", "watch", "create", "update", "patch", "delete"),
    forbidden: verbs("deletecollection"),
    nameFormat: "subdomain",
    fields: withFields({ type: (o) => str(o.type) }),
  },
  {
    ...core,
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
    verbs: verbs("get", "list", "create", "update", "patch", "delete"),
    forbidden: verbs(),
    nameFormat: "subdomain",
    fields: metaFields,
  },
  {
    // Created by tests (admission runs: the ServiceAccount plugin); listed by doctor.
    ...core,
    plural: "pods",
    kind: "Pod",
    namespaced: true,
    verbs: verbs("get", "list", "create", "delete"),
    forbidden: verbs(),
    nameFormat: "subdomain",
    fields: metaFields,
  },
  {
    ...core,
    plural: "events",
    kind: "Event",
    namespaced: true,
    verbs: verbs("create"),
    forbidden: verbs(),
    nameFormat: "subdomain",
    fields: withFields({
      reason: (o) => str(o.reason),
      type: (o) => str(o.type),
      "involvedObject.name": (o) => str(sub(o, "involvedObject").name),
    }),
  },
  {
    plural: "events",
    group: "events.k8s.io",
    version: "v1",
    kind: "Event",
    namespaced: true,
    verbs: verbs("create"),
    forbidden: verbs(),
    nameFormat: "subdomain",
    fields: withFields({ reason: (o) => str(o.reason), type: (o) => str(o.type) }),
  },
  {
    plural: "leases",
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    namespaced: true,
    verbs: verbs("get", "create", "update", "patch", "delete"),
    forbidden: verbs(),
    nameFormat: "subdomain",
    fields: metaFields,
  },
  {
    plural: "mutatingwebhookconfigurations",
    group: "admissionregistration.k8s.io",
    version: "v1",
    kind: "MutatingWebhookConfiguration",
    namespaced: false,
    verbs: verbs("get", "list", "create", "update", "patch", "delete"),
    forbidden: verbs(),
    nameFormat: "subdomain",
    fields: metaFields,
  },
  {
    // Never stored: a create is answered by AccessRules (see access.ts).
    plural: "selfsubjectaccessreviews",
    group: "authorization.k8s.io",
    version: "v1",
    kind: "SelfSubjectAccessReview",
    namespaced: false,
    verbs: verbs("create"),
    forbidden: verbs(),
    nameFormat: "subdomain",
    fields: metaFields,
  },
];

export const apiVersionOf = (def: ResourceDef) => (def.group ? `${def.group}/${def.version}` : def.version);

/** The definition used for seeding and inspection (the core one for events). */
export function storageDef(plural: ResourcePlural): ResourceDef {
  const def = RESOURCES.find((d) => d.plural === plural);
  if (!def) throw new Error(`unknown resource ${plural}`);
  return def;
}

export interface Route {
  def: ResourceDef;
  verb: KubeVerb;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type ParsedPath =
  | { kind: "resource"; route: Route }
  /** Under /api or /apis, but not something served. */
  | { kind: "unknown-api" }
  | { kind: "non-resource" };

function verbFor(method: string, hasName: boolean, watch: boolean): KubeVerb | undefined {
  switch (method) {
    case "GET":
      if (watch) return "watch";
      return hasName ? "get" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return hasName ? "delete" : "deletecollection";
    default:
      return undefined;
  }
}

const findDef = (group: string, version: string, plural: string) =>
  RESOURCES.find((d) => d.group === group && d.version === version && d.plural === plural);

interface Located {
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Splits the part after /api/v1 or /apis/g/v into resource, namespace, name, subresource. */
function locate(rest: string[]): Located | undefined {
  const [first, second, third, fourth, fifth, ...extra] = rest;
  if (first === undefined || extra.length > 0) return undefined;
  if (first !== "namespaces" || second === undefined) {
    // /namespaces, /secrets (all namespaces), /namespaces/x is handled below; cluster-scoped
    // resources other than namespaces by name (/mutatingwebhookconfigurations/x[/sub])
    if (rest.length === 1) return { plural: first };
    return fourth === undefined ? { plural: first, name: second, subresource: third } : undefined;
  }
  if (third === undefined) return { plural: "namespaces", name: second };
  if (fourth === undefined && !RESOURCES.some((d) => d.plural === third && d.namespaced)) {
    return { plural: "namespaces", name: second, subresource: third };
  }
  return { plural: third, namespace: second, name: fourth, subresource: fifth };
}

/** group, version and the rest of an /api or /apis path; undefined for other paths. */
function splitApiPath(pathname: string): { group?: string; version?: string; rest: string[] } | undefined {
  let segments: string[];
  try {
    segments = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (segments[0] === "api") return { group: "", version: segments[1], rest: segments.slice(2) };
  if (segments[0] === "apis") return { group: segments[1], version: segments[2], rest: segments.slice(3) };
  return undefined;
}

export function parsePath(pathname: string, method: string, query: Record<string, string>): ParsedPath {
  const api = splitApiPath(pathname);
  if (!api) return { kind: "non-resource" };
  const { group, version } = api;
  const located = group !== undefined && version !== undefined ? locate(api.rest) : undefined;
  const def = located && findDef(group!, version!, located.plural);
  if (!located || !def) return { kind: "unknown-api" };
  if (def.namespaced === (located.namespace === undefined) && located.name !== undefined) {
    return { kind: "unknown-api" };
  }
  const watch = query.watch === "true" || query.watch === "1";
  const verb = verbFor(method, located.name !== undefined, watch);
  if (!verb) return { kind: "unknown-api" };
  const route: Route = { def, verb };
  if (located.namespace !== undefined) route.namespace = located.namespace;
  if (located.name !== undefined) route.name = located.name;
  if (located.subresource !== undefined) route.subresource = located.subresource;
  return { kind: "resource", route };
}
