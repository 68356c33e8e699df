/**
 * Watch streams: newline-delimited {"type","object"} events after a resourceVersion, filtered like the
 * real watch cache (an object leaving the selector is a DELETED, entering it an ADDED), 410 Expired as
 * an ERROR event when the history no longer reaches back, timeoutSeconds, optional BOOKMARKs.
 */
import type { ServerResponse } from "node:http";
import { apiVersionOf, type ResourceDef } from "./resources.js";
import type { Matcher } from "./selectors.js";
import { expired } from "./status.js";
import type { Store, StoreEvent } from "./store.js";
import type { KubeObject } from "./types.js";

export interface WatchSpec {
  def: ResourceDef;
  namespace: string | undefined;
  matches: Matcher;
  /** undefined, "" and "0" mean: the current state as ADDED events, then changes. */
  resourceVersion: number | undefined;
  timeoutSeconds: number | undefined;
  allowBookmarks: boolean;
  /** Accept: ...;as=PartialObjectMetadata — objects are sent as their metadata only. */
  metadataOnly: boolean;
}

export interface WatchHubOptions {
  bookmarkIntervalMs: number;
  defaultTimeoutSeconds: number | undefined;
}

type WireEvent = { type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR"; object: unknown };

const atVersion = (obj: KubeObject, rv: number): KubeObject => ({
  ...obj,
  metadata: { ...obj.metadata, resourceVersion: String(rv) },
});

/** What a watcher with this filter sees of a store event, if anything. */
function translate(event: StoreEvent, passes: (obj: KubeObject) => boolean): WireEvent | undefined {
  const cur = event.type !== "DELETED" && passes(event.object);
  const old = event.previous !== undefined && passes(event.previous);
  if (cur && old) return { type: "MODIFIED", object: event.object };
  if (cur) return { type: "ADDED", object: event.object };
  if (old) return { type: "DELETED", object: atVersion(event.previous!, event.rv) };
  return undefined;
}

/** What the server sends for `as=PartialObjectMetadata`: kind, apiVersion and metadata only. */
export const partialMetadata = (obj: KubeObject): KubeObject => ({
  kind: "PartialObjectMetadata",
  apiVersion: "meta.k8s.io/v1",
  metadata: obj.metadata,
});

export class WatchHub {
  private readonly open = new Map<ServerResponse, () => void>();

  constructor(
    private readonly store: Store,
    private readonly opts: WatchHubOptions,
  ) {}

  get size(): number {
    return this.open.size;
  }

  serve(res: ServerResponse, spec: WatchSpec): void {
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Cache-Control": "no-cache, private",
      "Transfer-Encoding": "chunked",
    });
    res.flushHeaders();
    const shape = (event: WireEvent): WireEvent =>
      spec.metadataOnly && event.type !== "ERROR" && event.type !== "BOOKMARK"
        ? { type: event.type, object: partialMetadata(event.object as KubeObject) }
        : event;
    const send = (event: WireEvent) => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(shape(event))}\n`);
    };
    const passes = (obj: KubeObject) =>
      (spec.namespace === undefined || obj.metadata?.namespace === spec.namespace) && spec.matches(obj);

    const rv = spec.resourceVersion;
    if (rv === undefined) {
      for (const obj of this.store.list(spec.def.plural, spec.namespace)) {
        if (passes(obj)) send({ type: "ADDED", object: obj });
      }
    } else {
      const backlog = this.store.since(rv);
      if (!backlog) {
        send({ type: "ERROR", object: expired(rv, this.store.oldestResumable) });
        res.end();
        return;
      }
      for (const event of backlog) this.forward(event, spec, passes, send);
    }

    const unsubscribe = this.store.subscribe((event) => this.forward(event, spec, passes, send));
    const timers: NodeJS.Timeout[] = [];
    const bookmark = () =>
      send({
        type: "BOOKMARK",
        object: {
          kind: spec.def.kind,
          apiVersion: apiVersionOf(spec.def),
          metadata: { resourceVersion: String(this.store.resourceVersion) },
        },
      });
    if (spec.allowBookmarks) timers.push(setInterval(bookmark, this.opts.bookmarkIntervalMs));
    const timeout = spec.timeoutSeconds ?? this.opts.defaultTimeoutSeconds;
    if (timeout !== undefined) {
      timers.push(
        setTimeout(() => {
          if (spec.allowBookmarks) bookmark();
          res.end();
        }, timeout * 1000),
      );
    }
    const cleanup = () => {
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      this.open.delete(res);
    };
    this.open.set(res, cleanup);
    res.on("close", cleanup);
  }

  private forward(
    event: StoreEvent,
    spec: WatchSpec,
    passes: (obj: KubeObject) => boolean,
    send: (e: WireEvent) => void,
  ) {
    if (event.plural !== spec.def.plural) return;
    const wire = translate(event, passes);
    if (wire) send(wire);
  }

  /** Destroys the sockets: the client sees the stream break off without its final chunk. */
  drop(): void {
    for (const [res, cleanup] of [...this.open]) {
      cleanup();
      res.socket?.destroy();
      res.destroy();
    }
  }

  /** Ends the streams cleanly, as the server does when a watch times out. */
  endAll(): void {
    for (const [res, cleanup] of [...this.open]) {
      cleanup();
      res.end();
    }
  }
}
