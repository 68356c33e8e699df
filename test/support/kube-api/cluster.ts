/**
 * The API semantics on top of the store: create / update / patch / delete with the checks the real
 * server makes, in its order (decode, admission, defaulting + validation, storage), and namespace
 * lifecycle (Terminating, then removal with everything in it).
 */
import { randomInt, randomUUID } from "node:crypto";
import { applyPatch } from "./patch.js";
import { apiVersionOf, storageDef, type ResourceDef } from "./resources.js";
import {
  alreadyExists,
  badRequest,
  conflict,
  deleted,
  forbidden,
  namespaceTerminating,
  notFound,
  type GroupResource,
  type StatusBody,
} from "./status.js";
import type { Store } from "./store.js";
import {
  checkDecodable,
  cleanMeta,
  nameLabel,
  ordered,
  prepareForCreate,
  prepareForUpdate,
  validate,
} from "./strategy.js";
import type { KubeObject, ObjectMeta, ResourcePlural } from "./types.js";

export interface ClusterOptions {
  now: () => Date;
  namespaceFinalizeDelayMs: number | undefined;
  defaultServiceAccount: boolean;
  schedule: (fn: () => void, ms: number) => void;
}

const NAMESPACES: GroupResource = { group: "", resource: "namespaces" };
const NAMESPACED: ResourcePlural[] = ["secrets", "serviceaccounts", "pods", "events", "leases"];
const IMMORTAL = new Set(["default", "kube-system", "kube-public"]);
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";
const STILL_DELETING =
  "The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.";

const gr = (def: ResourceDef): GroupResource => ({ group: def.group, resource: def.plural });
const phaseOf = (obj: KubeObject) => (obj.status as { phase?: string } | undefined)?.phase;

/** JSON with sorted keys, to tell whether an update changes anything. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const withoutVersion = (obj: KubeObject) => ({
  ...obj,
  metadata: { ...obj.metadata, resourceVersion: undefined },
});

export interface DeleteOptions {
  preconditions?: { resourceVersion?: string; uid?: string };
}

export class Cluster {
  constructor(
    readonly store: Store,
    private readonly opts: ClusterOptions,
  ) {}

  timestamp(): string {
    return this.opts
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
  }

  /** The stored object, or 404 NotFound. */
  read(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    return this.existing(def, namespace, name);
  }

  private existing(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const obj = this.store.get(def.plural, namespace, name);
    if (!obj) throw notFound(gr(def), name);
    return obj;
  }

  /** NamespaceLifecycle admission: creates need a namespace that exists and is not terminating. */
  private admitCreate(def: ResourceDef, namespace: string | undefined, name: string): void {
    if (!def.namespaced || namespace === undefined) return;
    const ns = this.store.get("namespaces", undefined, namespace);
    if (!ns) throw notFound(NAMESPACES, namespace);
    if (phaseOf(ns) === "Terminating") throw namespaceTerminating(gr(def), name, namespace);
  }

  private generateName(def: ResourceDef, namespace: string | undefined, base: string): string {
    for (;;) {
      let suffix = "";
      for (let i = 0; i < 5; i++) suffix += ALPHANUMS[randomInt(ALPHANUMS.length)];
      const name = base.slice(0, 58) + suffix;
      if (!this.store.get(def.plural, namespace, name)) return name;
    }
  }

  /**
   * The ServiceAccount admission plugin: a pod runs as a ServiceAccount that must exist ("default"
   * when it names none), and one that names no pull secrets of its own gets the ServiceAccount's.
   */
  private admitServiceAccount(namespace: string, pod: KubeObject): void {
    const spec = (pod.spec ?? {}) as { serviceAccountName?: string; imagePullSecrets?: unknown[] };
    const name = spec.serviceAccountName || "default";
    const sa = this.store.get("serviceaccounts", namespace, name);
    if (!sa) {
      throw forbidden(
        { group: "", resource: "pods" },
        pod.metadata?.name ?? "",
        `error looking up service account ${namespace}/${name}: serviceaccount "${name}" not found`,
      );
    }
    const own = (sa as { imagePullSecrets?: unknown[] }).imagePullSecrets ?? [];
    const copy = (spec.imagePullSecrets ?? []).length === 0 && own.length > 0;
    pod.spec = {
      ...spec,
      serviceAccountName: name,
      ...(copy ? { imagePullSecrets: structuredClone(own) } : {}),
    };
  }

  /** The body's namespace and name must agree with the URL. */
  private checkIdentity(
    def: ResourceDef,
    namespace: string | undefined,
    name: string | undefined,
    body: KubeObject,
  ) {
    const bodyNamespace = body.metadata?.namespace;
    if (def.namespaced && bodyNamespace && bodyNamespace !== namespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const bodyName = body.metadata?.name ?? "";
    if (name !== undefined && bodyName !== name) {
      throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
    }
  }

  create(def: ResourceDef, namespace: string | undefined, body: KubeObject): KubeObject {
    checkDecodable(def, body);
    this.checkIdentity(def, namespace, undefined, body);
    const meta = cleanMeta(body.metadata);
    if (def.namespaced) meta.namespace = namespace;
    else delete meta.namespace;
    this.admitCreate(def, namespace, meta.name ?? "");
    if (!meta.name && meta.generateName) meta.name = this.generateName(def, namespace, meta.generateName);
    const obj: KubeObject = { ...structuredClone(body), metadata: meta };
    if (def.plural === "pods") this.admitServiceAccount(namespace!, obj);
    prepareForCreate(def, obj);
    validate(def, obj);
    const name = meta.name!;
    const clash = this.store.get(def.plural, namespace, name);
    if (clash) {
      const error = alreadyExists(gr(def), name);
      if (clash.metadata?.deletionTimestamp)
        error.body.message = `object is being deleted: ${error.body.message}`;
      throw error;
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = this.timestamp();
    const stored = this.store.write(def.plural, ordered(def.kind, apiVersionOf(def), obj));
    if (def.plural === "namespaces") this.afterNamespaceCreated(name);
    return stored;
  }

  update(def: ResourceDef, namespace: string | undefined, name: string, body: KubeObject): KubeObject {
    checkDecodable(def, body);
    this.checkIdentity(def, namespace, name, body);
    return this.commit(def, this.existing(def, namespace, name), body);
  }

  patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    patch: { contentType: string; body: unknown },
  ) {
    const existing = this.existing(def, namespace, name);
    const patched = applyPatch(existing, patch.contentType, patch.body);
    checkDecodable(def, patched);
    this.checkIdentity(def, namespace, name, patched);
    return this.commit(def, existing, patched);
  }

  /** Stores `candidate` as the new state of `existing` (resourceVersion precondition, no-op detection). */
  private commit(def: ResourceDef, existing: KubeObject, candidate: KubeObject): KubeObject {
    const old = existing.metadata ?? {};
    const name = old.name ?? "";
    const rv = candidate.metadata?.resourceVersion;
    if (rv && rv !== old.resourceVersion) throw conflict(gr(def), name);
    const uid = candidate.metadata?.uid;
    if (uid && uid !== old.uid) {
      throw conflict(
        gr(def),
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${old.uid}`,
      );
    }
    const meta = cleanMeta(candidate.metadata);
    Object.assign(meta, { name: old.name, namespace: old.namespace, uid: old.uid });
    meta.creationTimestamp = old.creationTimestamp;
    if (old.deletionTimestamp) meta.deletionTimestamp = old.deletionTimestamp;
    const obj: KubeObject = { ...structuredClone(candidate), metadata: meta };
    prepareForUpdate(def, obj, existing);
    validate(def, obj, existing);
    const next = ordered(def.kind, existing.apiVersion ?? apiVersionOf(def), obj);
    if (canonical(withoutVersion(next)) === canonical(withoutVersion(existing))) return existing;
    return this.store.write(def.plural, next);
  }

  delete(def: ResourceDef, namespace: string | undefined, name: string, options: DeleteOptions = {}) {
    const existing = this.existing(def, namespace, name);
    const { resourceVersion, uid } = options.preconditions ?? {};
    const meta = existing.metadata ?? {};
    if (resourceVersion && resourceVersion !== meta.resourceVersion) {
      const why = `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`;
      throw conflict(gr(def), name, why);
    }
    if (uid && uid !== meta.uid) {
      throw conflict(
        gr(def),
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${meta.uid}`,
      );
    }
    if (def.plural === "namespaces") return this.terminateNamespace(name);
    this.store.delete(def.plural, namespace, name);
    return deleted(gr(def), name, meta.uid);
  }

  /** DELETE of a namespace: Terminating + deletionTimestamp, removal after the configured delay. */
  terminateNamespace(name: string): KubeObject | StatusBody {
    if (IMMORTAL.has(name)) throw forbidden(NAMESPACES, name, "this namespace may not be deleted");
    const ns = this.existing(storageDef("namespaces"), undefined, name);
    if (ns.metadata?.deletionTimestamp) throw conflict(NAMESPACES, name, STILL_DELETING);
    const finalizers = (ns.spec as { finalizers?: unknown[] } | undefined)?.finalizers;
    if (Array.isArray(finalizers) && finalizers.length === 0) {
      this.removeNamespace(name);
      return deleted(NAMESPACES, name, ns.metadata?.uid);
    }
    const next = structuredClone(ns);
    next.metadata = { ...next.metadata, deletionTimestamp: this.timestamp() };
    next.status = { ...(next.status ?? {}), phase: "Terminating" };
    const stored = this.store.write("namespaces", next);
    const delay = this.opts.namespaceFinalizeDelayMs;
    if (delay !== undefined) {
      const uid = ns.metadata?.uid;
      this.opts.schedule(() => {
        if (this.store.get("namespaces", undefined, name)?.metadata?.uid === uid) this.removeNamespace(name);
      }, delay);
    }
    return stored;
  }

  /** What the namespace controller finally does: delete the content, then the namespace. */
  removeNamespace(name: string): void {
    if (!this.store.get("namespaces", undefined, name)) throw new Error(`namespace ${name} does not exist`);
    for (const plural of NAMESPACED) {
      for (const obj of this.store.list(plural, name))
        this.store.delete(plural, name, obj.metadata?.name ?? "");
    }
    this.store.delete("namespaces", undefined, name);
  }

  private afterNamespaceCreated(name: string): void {
    if (!this.opts.defaultServiceAccount) return;
    this.seed("serviceaccounts", name, { metadata: { name: "default" } });
  }

  private seedName(def: ResourceDef, namespace: string | undefined, meta: ObjectMeta): string {
    if (meta.name) return meta.name;
    if (meta.generateName) return this.generateName(def, namespace, meta.generateName);
    throw new Error("seeded objects need metadata.name or metadata.generateName");
  }

  /** Stores an object as given (no validation or admission), filling what the server owns. */
  seed(plural: ResourcePlural, namespace: string | undefined, obj: KubeObject): KubeObject {
    const def = storageDef(plural);
    const ns = def.namespaced ? namespace : undefined;
    const meta: ObjectMeta = { ...cleanMeta(obj.metadata), namespace: ns };
    const name = this.seedName(def, ns, meta);
    const existing = this.store.get(plural, ns, name);
    const given = obj.metadata ?? {};
    Object.assign(meta, {
      name,
      uid: existing?.metadata?.uid ?? given.uid ?? randomUUID(),
      creationTimestamp: existing?.metadata?.creationTimestamp ?? this.timestamp(),
      deletionTimestamp: given.deletionTimestamp,
    });
    const next: KubeObject = { ...structuredClone(obj), metadata: meta };
    if (plural === "namespaces") {
      if (next.status === undefined) prepareForCreate(def, next);
      nameLabel(next);
    }
    const stored = this.store.write(plural, ordered(def.kind, obj.apiVersion ?? apiVersionOf(def), next));
    if (plural === "namespaces" && !existing) this.afterNamespaceCreated(name);
    return stored;
  }
}
