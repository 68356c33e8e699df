/** Queued faults: each entry applies to the next `times` matching requests, first queued first. */
import type { ConflictSpec, DropSpec, FailSpec, RecordedRequest, RequestMatcher } from "./types.js";

interface Entry<T> {
  spec: T;
  match: RequestMatcher | undefined;
  remaining: number;
}

class Queue<T> {
  private entries: Entry<T>[] = [];

  add(spec: T, match: RequestMatcher | undefined, times: number | undefined): void {
    const remaining = times ?? 1;
    if (!Number.isInteger(remaining) || remaining < 1)
      throw new Error(`times must be a positive integer, got ${remaining}`);
    this.entries.push({ spec, match, remaining });
  }

  /** The spec of the first entry matching req, consuming one use of it. */
  take(req: RecordedRequest): T | undefined {
    const entry = this.entries.find((e) => !e.match || e.match(req));
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.entries = this.entries.filter((e) => e !== entry);
    return entry.spec;
  }

  clear(): void {
    this.entries = [];
  }
}

const WRITES = new Set(["create", "update", "patch", "delete"]);

export class Faults {
  latencyMs = 0;
  private readonly fails = new Queue<FailSpec>();
  private readonly drops = new Queue<DropSpec>();
  private readonly conflicts = new Queue<ConflictSpec>();

  failNext(spec: FailSpec): void {
    if (!Number.isInteger(spec.status) || spec.status < 100 || spec.status > 599) {
      throw new Error(`not an HTTP status: ${spec.status}`);
    }
    this.fails.add(spec, spec.match, spec.times);
  }

  dropNext(spec: DropSpec = {}): void {
    this.drops.add(spec, spec.match, spec.times);
  }

  conflictNext(spec: ConflictSpec = {}): void {
    const match = spec.match;
    this.conflicts.add(spec, (req) => WRITES.has(req.verb ?? "") && (!match || match(req)), spec.times);
  }

  takeFail(req: RecordedRequest): FailSpec | undefined {
    return this.fails.take(req);
  }

  takeDrop(req: RecordedRequest): boolean {
    return this.drops.take(req) !== undefined;
  }

  takeConflict(req: RecordedRequest): boolean {
    return this.conflicts.take(req) !== undefined;
  }

  clear(): void {
    this.fails.clear();
    this.drops.clear();
    this.conflicts.clear();
  }
}
