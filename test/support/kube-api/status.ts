/**
 * metav1.Status bodies, shaped (and key-ordered) like the ones recorded from a real API server in
 * test/fixtures/apiserver: kind, apiVersion, metadata {}, status, message, reason, details, code.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code?: number;
}

/** A Kubernetes error: the HTTP status is `body.code`. */
export class ApiError extends Error {
  constructor(
    readonly body: StatusBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message ?? body.reason ?? "error");
  }
  get code(): number {
    return this.body.code ?? 500;
  }
}

/** Group/resource as the server names it: "secrets", "leases.coordination.k8s.io". */
export interface GroupResource {
  group: string;
  resource: string;
}

const qualified = (gr: GroupResource) => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);

function cleanDetails(details: StatusDetails): StatusDetails {
  const out: StatusDetails = {};
  if (details.name) out.name = details.name;
  if (details.group) out.group = details.group;
  if (details.kind) out.kind = details.kind;
  if (details.uid) out.uid = details.uid;
  if (details.causes && details.causes.length > 0) out.causes = details.causes;
  if (details.retryAfterSeconds) out.retryAfterSeconds = details.retryAfterSeconds;
  return out;
}

export function failure(code: number, reason: string, message: string, details?: StatusDetails): StatusBody {
  const body: StatusBody = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
  };
  if (details) body.details = cleanDetails(details);
  body.code = code;
  return body;
}

const resourceDetails = (gr: GroupResource, name: string): StatusDetails => ({
  name,
  group: gr.group,
  kind: gr.resource,
});

export const notFound = (gr: GroupResource, name: string) =>
  new ApiError(failure(404, "NotFound", `${qualified(gr)} "${name}" not found`, resourceDetails(gr, name)));

export const alreadyExists = (gr: GroupResource, name: string) =>
  new ApiError(
    failure(409, "AlreadyExists", `${qualified(gr)} "${name}" already exists`, resourceDetails(gr, name)),
  );

export const OBJECT_MODIFIED =
  "the object has been modified; please apply your changes to the latest version and try again";

export const conflict = (gr: GroupResource, name: string, why: string = OBJECT_MODIFIED) =>
  new ApiError(
    failure(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`,
      resourceDetails(gr, name),
    ),
  );

export function forbidden(gr: GroupResource, name: string, why: string, causes?: StatusCause[]): ApiError {
  const subject = name ? `${qualified(gr)} "${name}"` : qualified(gr);
  return new ApiError(
    failure(403, "Forbidden", `${subject} is forbidden: ${why}`, { ...resourceDetails(gr, name), causes }),
  );
}

export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  namespace?: string | undefined;
  name?: string | undefined;
}

/** What the authorizer says when a user may not do something (RBAC / anonymous). */
export function unauthorizedVerb(user: string, attrs: RequestAttributes): ApiError {
  const where = attrs.namespace ? `in the namespace "${attrs.namespace}"` : "at the cluster scope";
  const why = `User "${user}" cannot ${attrs.verb} resource "${attrs.resource}" in API group "${attrs.group}" ${where}`;
  return forbidden({ group: attrs.group, resource: attrs.resource }, attrs.name ?? "", why);
}

export function namespaceTerminating(gr: GroupResource, name: string, namespace: string): ApiError {
  return forbidden(
    gr,
    name,
    `unable to create new content in namespace ${namespace} because it is being terminated`,
    [
      {
        reason: "NamespaceTerminating",
        message: `namespace ${namespace} is being terminated`,
        field: "metadata.namespace",
      },
    ],
  );
}

export interface FieldError {
  type: "FieldValueInvalid" | "FieldValueRequired" | "FieldValueForbidden";
  field: string;
  /** The text after "field: " (e.g. `Invalid value: "x": why` or `Required value`). */
  body: string;
}

/** 422 Invalid, named by Kind (details.kind is the Kind here, not the resource). */
export function invalid(kind: string, group: string, name: string, errors: FieldError[]): ApiError {
  const rendered = errors.map((e) => `${e.field}: ${e.body}`);
  const aggregate = rendered.length === 1 ? rendered[0]! : `[${rendered.join(", ")}]`;
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  return new ApiError(
    failure(422, "Invalid", `${qualifiedKind} "${name}" is invalid: ${aggregate}`, {
      name,
      group,
      kind,
      causes: errors.map((e) => ({ reason: e.type, message: e.body, field: e.field })),
    }),
  );
}

/** What the server answers when a JSON patch cannot be applied (failed test, missing path...). */
export const patchRejected = () =>
  new ApiError(failure(422, "Invalid", "the server rejected our request due to an error in our request", {}));

export const badRequest = (message: string) => new ApiError(failure(400, "BadRequest", message));

export const methodNotAllowed = () =>
  new ApiError(
    failure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}),
  );

export const resourceNotFound = () =>
  new ApiError(failure(404, "NotFound", "the server could not find the requested resource", {}));

export const unsupportedMediaType = () =>
  new ApiError(
    failure(
      415,
      "UnsupportedMediaType",
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    ),
  );

export const unauthorized = () => new ApiError(failure(401, "Unauthorized", "Unauthorized"));

export const expired = (requested: number, oldest: number) =>
  failure(410, "Expired", `too old resource version: ${requested} (${oldest})`);

/** The default Status for an injected failure with this HTTP status. */
const INJECTED: Record<number, [reason: string, message: string]> = {
  403: ["Forbidden", "forbidden: injected failure"],
  404: ["NotFound", "the server could not find the requested resource"],
  409: ["Conflict", OBJECT_MODIFIED],
  429: ["TooManyRequests", "Too many requests, please try again later."],
  503: ["ServiceUnavailable", "the server is currently unable to handle the request"],
  504: ["Timeout", "Timeout: request did not complete within requested timeout"],
};

export function injected(code: number, message?: string, retryAfterSeconds?: number): StatusBody {
  if (code === 500) {
    const why = message ?? "injected failure";
    return failure(500, "InternalError", `Internal error occurred: ${why}`, { causes: [{ message: why }] });
  }
  if (code === 401) return failure(401, "Unauthorized", message ?? "Unauthorized");
  const [reason, text] = INJECTED[code] ?? [
    "Unknown",
    `the server responded with the status code ${code} but did not return more information`,
  ];
  return failure(code, reason, message ?? text, { retryAfterSeconds });
}

/** DELETE of an object without finalizers: 200 with a Success Status naming it. */
export function deleted(gr: GroupResource, name: string, uid: string | undefined): StatusBody {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: cleanDetails({ name, group: gr.group, kind: gr.resource, uid }),
  };
}
