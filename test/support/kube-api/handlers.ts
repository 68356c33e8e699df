/** REST verbs on a resolved route: list/get/create/update/patch/delete, and parsing a watch request. */
import type { AccessRules } from "./access.js";
import type { Cluster, DeleteOptions } from "./cluster.js";
import { apiVersionOf, type Route } from "./resources.js";
import { parseFieldSelector, parseLabelSelector, SelectorError, type Matcher } from "./selectors.js";
import { badRequest, methodNotAllowed } from "./status.js";
import { partialMetadata, type WatchSpec } from "./watch.js";
import type { KubeObject } from "./types.js";

export interface RestInput {
  query: Record<string, string>;
  body: unknown;
  contentType: string;
  /** Who is asking (the impersonated user, if any): the subject of a SelfSubjectAccessReview. */
  user: string;
  /** The Accept header: `as=PartialObjectMetadataList` asks for metadata only. */
  accept: string;
}

export interface Reply {
  status: number;
  body: unknown;
}

export interface HandlerContext {
  cluster: Cluster;
  listItemKinds: boolean;
  access: AccessRules;
}

function selectors(route: Route, query: Record<string, string>): Matcher {
  try {
    const labels = parseLabelSelector(query.labelSelector);
    const fields = parseFieldSelector(query.fieldSelector, route.def.fields);
    const name = route.name;
    return (obj) => (name === undefined || obj.metadata?.name === name) && labels(obj) && fields(obj);
  } catch (e) {
    if (e instanceof SelectorError) throw badRequest(e.message);
    throw e;
  }
}

const asObject = (body: unknown): KubeObject => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest("Object 'Kind' is missing in the request body");
  }
  return body as KubeObject;
};

function withoutKind(obj: KubeObject): KubeObject {
  const rest = { ...obj };
  delete rest.kind;
  delete rest.apiVersion;
  return rest;
}

const keyOf = (obj: KubeObject) => `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;

/**
 * Chunked lists as the API server serves them: items in key order, `limit` per page, and an opaque
 * `continue` token naming the last key served. (The real server also pins later pages to the first
 * page's resourceVersion; here they see the current state.)
 */
function page(items: KubeObject[], query: Record<string, string>): { items: KubeObject[]; next?: string } {
  const limit = Number(query.limit ?? 0);
  const after = query.continue ? Buffer.from(query.continue, "base64url").toString("utf8") : undefined;
  if (!(limit > 0) && after === undefined) return { items };
  const sorted = [...items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const rest = after === undefined ? sorted : sorted.filter((obj) => keyOf(obj) > after);
  if (!(limit > 0) || rest.length <= limit) return { items: rest };
  const served = rest.slice(0, limit);
  return { items: served, next: Buffer.from(keyOf(served.at(-1)!)).toString("base64url") };
}

const wantsMetadata = (accept: string) => accept.includes("as=PartialObjectMetadata");

function list(ctx: HandlerContext, route: Route, input: RestInput): Reply {
  const query = input.query;
  const matches = selectors(route, query);
  const { def } = route;
  const { items, next } = page(ctx.cluster.store.list(def.plural, route.namespace).filter(matches), query);
  if (wantsMetadata(input.accept)) {
    return {
      status: 200,
      body: {
        kind: "PartialObjectMetadataList",
        apiVersion: "meta.k8s.io/v1",
        metadata: {
          resourceVersion: String(ctx.cluster.store.resourceVersion),
          ...(next ? { continue: next } : {}),
        },
        // As the real server encodes it: a Go nil slice, so an empty metadata list says null.
        items: items.length === 0 ? null : items.map(partialMetadata),
      },
    };
  }
  return {
    status: 200,
    body: {
      kind: `${def.kind}List`,
      apiVersion: apiVersionOf(def),
      metadata: {
        resourceVersion: String(ctx.cluster.store.resourceVersion),
        ...(next ? { continue: next } : {}),
      },
      items: items.map((obj) => (ctx.listItemKinds ? obj : withoutKind(obj))),
    },
  };
}

/** Serves every verb but watch (the server streams those through WatchHub). */
export function handleRest(ctx: HandlerContext, route: Route, input: RestInput): Reply {
  const { cluster } = ctx;
  const { def, namespace, name } = route;
  switch (route.verb) {
    case "list":
      return list(ctx, route, input);
    case "get":
      return { status: 200, body: cluster.read(def, namespace, name!) };
    case "create":
      if (name !== undefined) throw methodNotAllowed();
      if (def.plural === "selfsubjectaccessreviews")
        return { status: 201, body: ctx.access.review(asObject(input.body), input.user) };
      return { status: 201, body: cluster.create(def, namespace, asObject(input.body)) };
    case "update":
      return { status: 200, body: cluster.update(def, namespace, name!, asObject(input.body)) };
    case "patch":
      return { status: 200, body: cluster.patch(def, namespace, name!, input) };
    case "delete": {
      const options = (input.body && typeof input.body === "object" ? input.body : {}) as DeleteOptions;
      return { status: 200, body: cluster.delete(def, namespace, name!, options) };
    }
    default:
      throw methodNotAllowed();
  }
}

/** Parses the query of a watch request; throws 400 for bad selectors or resourceVersion. */
export function watchSpec(route: Route, query: Record<string, string>, accept = ""): WatchSpec {
  const matches = selectors(route, query);
  const rv = query.resourceVersion;
  let resourceVersion: number | undefined;
  if (rv !== undefined && rv !== "" && rv !== "0") {
    if (!/^\d+$/.test(rv))
      throw badRequest(
        `resourceVersion: Invalid value: "${rv}": strconv.ParseUint: parsing "${rv}": invalid syntax`,
      );
    resourceVersion = Number(rv);
  }
  const timeout = query.timeoutSeconds;
  return {
    def: route.def,
    namespace: route.namespace,
    matches,
    resourceVersion,
    timeoutSeconds: timeout !== undefined && /^\d+$/.test(timeout) ? Number(timeout) : undefined,
    allowBookmarks: query.allowWatchBookmarks === "true" || query.allowWatchBookmarks === "1",
    metadataOnly: wantsMetadata(accept),
  };
}
