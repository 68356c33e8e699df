/**
 * Per-resource create/update rules, like the registry strategies of the real server: what the server
 * fills in or keeps, and the validation that yields 422 Invalid (messages as in Kubernetes 1.19).
 */
import type { ResourceDef } from "./resources.js";
import { badRequest, invalid, type FieldError } from "./status.js";
import type { KubeObject, ObjectMeta } from "./types.js";

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_MSG =
  "a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a DNS-1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const CONFIG_KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const DOCKER_KEYS: Record<string, string> = {
  "kubernetes.io/dockerconfigjson": ".dockerconfigjson",
  "kubernetes.io/dockercfg": ".dockercfg",
};

const quote = (v: unknown) => JSON.stringify(v);

const invalidValue = (field: string, value: unknown, why: string): FieldError => ({
  type: "FieldValueInvalid",
  field,
  body: `Invalid value: ${quote(value)}: ${why}`,
});

const required = (field: string, detail?: string): FieldError => ({
  type: "FieldValueRequired",
  field,
  body: detail ? `Required value: ${detail}` : "Required value",
});

export function nameErrors(format: "label" | "subdomain", name: string): FieldError[] {
  const errors: FieldError[] = [];
  const max = format === "label" ? 63 : 253;
  if (name.length > max)
    errors.push(invalidValue("metadata.name", name, `must be no more than ${max} characters`));
  const ok = format === "label" ? LABEL.test(name) : SUBDOMAIN.test(name);
  if (!ok) errors.push(invalidValue("metadata.name", name, format === "label" ? LABEL_MSG : SUBDOMAIN_MSG));
  return errors;
}

const record = (v: unknown) =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function secretErrors(obj: KubeObject, old: KubeObject | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const data = record(obj.data);
  for (const key of Object.keys(data)) {
    if (!CONFIG_KEY.test(key)) errors.push(invalidValue("data", key, CONFIG_KEY_MSG));
  }
  const dockerKey = DOCKER_KEYS[String(obj.type)];
  if (dockerKey !== undefined) {
    const field = `data[${dockerKey}]`;
    const value = data[dockerKey];
    if (typeof value !== "string" || value === "") {
      errors.push(required(field));
    } else {
      try {
        JSON.parse(Buffer.from(value, "base64").toString("utf8"));
      } catch (e) {
        errors.push(invalidValue(field, "<secret contents redacted>", (e as Error).message));
      }
    }
  }
  if (old && old.type !== obj.type) errors.push(invalidValue("type", obj.type, "field is immutable"));
  return errors;
}

/**
 * The core Event rule: an Event lives in the namespace of the object it is about; one about a
 * cluster-scoped object (a Namespace, say) may only be in "default" (or no namespace).
 */
function eventErrors(obj: KubeObject): FieldError[] {
  const involved = record(obj.involvedObject).namespace;
  const involvedNamespace = typeof involved === "string" ? involved : "";
  const namespace = obj.metadata?.namespace ?? "";
  const ok =
    involvedNamespace === "" ? namespace === "" || namespace === "default" : involvedNamespace === namespace;
  return ok
    ? []
    : [invalidValue("involvedObject.namespace", involvedNamespace, "does not match event.namespace")];
}

/** Throws 422 Invalid when the object breaks the resource's rules. */
export function validate(def: ResourceDef, obj: KubeObject, old?: KubeObject): void {
  const name = obj.metadata?.name ?? "";
  const errors =
    name === ""
      ? [required("metadata.name", "name or generateName is required")]
      : nameErrors(def.nameFormat, name);
  if (def.plural === "secrets") errors.push(...secretErrors(obj, old));
  if (def.plural === "events" && def.group === "") errors.push(...eventErrors(obj));
  if (errors.length > 0) throw invalid(def.kind, def.group, name, errors);
}

/** A MicroTime as the real server decodes it: RFC 3339 with exactly six fractional digits. */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

function checkMicroTimes(def: ResourceDef, obj: KubeObject): void {
  const spec = record(obj.spec);
  for (const key of ["acquireTime", "renewTime"]) {
    const value = spec[key];
    if (value === undefined || value === null) continue;
    if (typeof value === "string" && MICRO_TIME.test(value)) continue;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    // As Go's time.Parse reports it: the layout, and the part of the value it could not match.
    throw badRequest(
      `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: parsing time "${text}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${text.slice(19)}" as ".000000"`,
    );
  }
}

/**
 * What decoding the body would reject with 400: invalid base64 in Secret data, a Lease time that is
 * not a MicroTime (a JavaScript Date serialises with three fractional digits; the server wants six).
 */
export function checkDecodable(def: ResourceDef, obj: KubeObject): void {
  if (def.plural === "leases") return checkMicroTimes(def, obj);
  if (def.plural !== "secrets") return;
  for (const value of Object.values(record(obj.data))) {
    if (typeof value !== "string" || value.length % 4 !== 0 || !BASE64.test(value)) {
      throw badRequest(
        'Secret in version "v1" cannot be handled as a Secret: v1.Secret.Data: decode base64: illegal base64 data',
      );
    }
  }
}

/** Server-side defaulting shared by create and update. */
function normalize(def: ResourceDef, obj: KubeObject): void {
  if (def.plural === "secrets") {
    const stringData = record(obj.stringData);
    if (Object.keys(stringData).length > 0) {
      const data = { ...record(obj.data) };
      for (const [k, v] of Object.entries(stringData))
        data[k] = Buffer.from(String(v), "utf8").toString("base64");
      obj.data = data;
    }
    delete obj.stringData;
    if (obj.type === undefined || obj.type === "") obj.type = "Opaque";
  }
}

/** Metadata the client may not set: dropped from what it sent. */
const SERVER_OWNED = [
  "uid",
  "resourceVersion",
  "creationTimestamp",
  "deletionTimestamp",
  "selfLink",
  "managedFields",
];

export function cleanMeta(meta: ObjectMeta | undefined): ObjectMeta {
  const out: ObjectMeta = { ...(meta ?? {}) };
  for (const key of SERVER_OWNED) delete out[key];
  for (const [k, v] of Object.entries(out)) if (v === null || v === undefined) delete out[k];
  return out;
}

/** Since Kubernetes 1.21 every Namespace carries its own name as a label, whatever was sent. */
export function nameLabel(obj: KubeObject): void {
  const name = obj.metadata?.name;
  if (name)
    obj.metadata = {
      ...obj.metadata,
      labels: { ...record(obj.metadata?.labels), "kubernetes.io/metadata.name": name },
    };
}

export function prepareForCreate(def: ResourceDef, obj: KubeObject): void {
  normalize(def, obj);
  if (def.plural === "namespaces") {
    nameLabel(obj);
    const spec = record(obj.spec);
    const finalizers = Array.isArray(spec.finalizers) ? (spec.finalizers as unknown[]) : [];
    obj.spec = {
      ...spec,
      finalizers: finalizers.includes("kubernetes") ? finalizers : [...finalizers, "kubernetes"],
    };
    obj.status = { phase: "Active" };
  }
}

export function prepareForUpdate(def: ResourceDef, obj: KubeObject, old: KubeObject): void {
  normalize(def, obj);
  if (def.plural === "namespaces") {
    nameLabel(obj);
    // status is a subresource and finalizers go through /finalize: updates of the main resource keep both
    obj.spec = { ...record(obj.spec), finalizers: record(old.spec).finalizers };
    obj.status = old.status;
  }
}

/** Puts kind, apiVersion and metadata first, in the order the real server writes them. */
export function ordered(kind: string, apiVersion: string, obj: KubeObject): KubeObject {
  const rest = { ...obj };
  delete rest.kind;
  delete rest.apiVersion;
  delete rest.metadata;
  const m = obj.metadata ?? {};
  const first = [
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
  ];
  const meta: ObjectMeta = {};
  for (const key of first) if (m[key] !== undefined) meta[key] = m[key];
  for (const [key, value] of Object.entries(m)) if (!(key in meta) && value !== undefined) meta[key] = value;
  return { kind, apiVersion, metadata: meta, ...rest };
}
