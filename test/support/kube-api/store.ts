/**
 * Objects plus the global resourceVersion and a bounded event history, like etcd + the watch cache.
 * Stored objects are never mutated: every write stores a new object, so history entries stay snapshots.
 */
import type { KubeObject, ObjectMeta, ResourcePlural } from "./types.js";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  rv: number;
  type: EventType;
  plural: ResourcePlural;
  object: KubeObject;
  /** The object before this event (undefined for ADDED). */
  previous: KubeObject | undefined;
}

export type StoreListener = (event: StoreEvent) => void;

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ""}/${name}`;

const BEFORE_VERSION = new Set(["name", "generateName", "namespace", "selfLink", "uid"]);

/** metadata with resourceVersion set, placed where the real server writes it (right after uid). */
function stamp(meta: ObjectMeta, rv: number): ObjectMeta {
  const out: ObjectMeta = {};
  let placed = false;
  for (const [key, value] of Object.entries(meta)) {
    if (key === "resourceVersion") continue;
    if (!placed && !BEFORE_VERSION.has(key)) {
      out.resourceVersion = String(rv);
      placed = true;
    }
    out[key] = value;
  }
  if (!placed) out.resourceVersion = String(rv);
  return out;
}

export class Store {
  private rv: number;
  private readonly objects = new Map<ResourcePlural, Map<string, KubeObject>>();
  private history: StoreEvent[] = [];
  /** Watches from a resourceVersion below this one have missed events: they get 410 Expired. */
  private compactedThrough: number;
  private readonly listeners = new Set<StoreListener>();

  constructor(
    private readonly historyLimit: number,
    initialResourceVersion: number,
  ) {
    this.rv = initialResourceVersion;
    this.compactedThrough = initialResourceVersion;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get oldestResumable(): number {
    return this.compactedThrough;
  }

  private bucket(plural: ResourcePlural): Map<string, KubeObject> {
    let bucket = this.objects.get(plural);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(plural, bucket);
    }
    return bucket;
  }

  /** The stored object itself: callers must not mutate it. */
  get(plural: ResourcePlural, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(plural)?.get(keyOf(namespace, name));
  }

  /** Stored objects sorted by namespace/name; every namespace when namespace is undefined. */
  list(plural: ResourcePlural, namespace?: string): KubeObject[] {
    const bucket = this.objects.get(plural);
    if (!bucket) return [];
    return [...bucket.entries()]
      .filter(([, obj]) => namespace === undefined || obj.metadata?.namespace === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => obj);
  }

  /** Takes ownership of obj, stamps the next resourceVersion and emits ADDED or MODIFIED. */
  write(plural: ResourcePlural, obj: KubeObject): KubeObject {
    const meta = obj.metadata ?? {};
    const name = meta.name ?? "";
    const key = keyOf(meta.namespace, name);
    const bucket = this.bucket(plural);
    const previous = bucket.get(key);
    this.rv += 1;
    const stored: KubeObject = { ...obj, metadata: stamp(meta, this.rv) };
    bucket.set(key, stored);
    this.emit({ rv: this.rv, type: previous ? "MODIFIED" : "ADDED", plural, object: stored, previous });
    return stored;
  }

  /** Removes the object and emits DELETED carrying the deletion's resourceVersion. */
  delete(plural: ResourcePlural, namespace: string | undefined, name: string): KubeObject | undefined {
    const bucket = this.objects.get(plural);
    const key = keyOf(namespace, name);
    const previous = bucket?.get(key);
    if (!bucket || !previous) return undefined;
    bucket.delete(key);
    this.rv += 1;
    const object: KubeObject = {
      ...previous,
      metadata: { ...previous.metadata, resourceVersion: String(this.rv) },
    };
    this.emit({ rv: this.rv, type: "DELETED", plural, object, previous });
    return object;
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()!;
      this.compactedThrough = dropped.rv;
    }
    for (const listener of [...this.listeners]) listener(event);
  }

  /** Events after resourceVersion rv, or undefined when some of them are no longer retained. */
  since(rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedThrough) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  /** Drops the whole history: only watches from the current resourceVersion can resume. */
  compact(): void {
    this.history = [];
    this.compactedThrough = this.rv;
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
