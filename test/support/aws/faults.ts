/** Injected faults: throttling, server errors, hanging requests, latency. */
import type { ServerResponse } from "node:http";

interface Held {
  action: string;
  res: ServerResponse;
  resume: (outcome: "proceed" | "gone") => void;
}

export class Faults {
  latencyMs = 0;
  private readonly throttles = new Map<string, number>();
  private readonly failures = new Map<string, { times: number; status: number }>();
  private readonly hungActions = new Set<string>();
  private held: Held[] = [];

  throttleNext(action: string, times: number): void {
    this.throttles.set(action, (this.throttles.get(action) ?? 0) + times);
  }

  failNext(action: string, times: number, status: number): void {
    this.failures.set(action, { times, status });
  }

  /** Consumes one pending throttle for `action`. */
  takeThrottle(action: string): boolean {
    const left = this.throttles.get(action) ?? 0;
    if (left <= 0) return false;
    this.throttles.set(action, left - 1);
    return true;
  }

  /** Consumes one pending failure for `action`; returns its HTTP status. */
  takeFailure(action: string): number | undefined {
    const f = this.failures.get(action);
    if (!f || f.times <= 0) return undefined;
    f.times -= 1;
    return f.status;
  }

  hang(action: string, on: boolean): void {
    if (on) {
      this.hungActions.add(action);
      return;
    }
    this.hungActions.delete(action);
    this.settle((h) => h.action === action, "proceed");
  }

  hanging(action?: string): number {
    return this.held.filter((h) => action === undefined || h.action === action).length;
  }

  /** Resolves at once unless `action` hangs; then when released ("proceed") or dropped/closed ("gone"). */
  holdIfHung(action: string, res: ServerResponse): Promise<"proceed" | "gone"> {
    if (!this.hungActions.has(action)) return Promise.resolve("proceed");
    return new Promise((resolve) => {
      const entry: Held = { action, res, resume: resolve };
      this.held.push(entry);
      // The client gave up (abort/timeout): forget the request.
      res.once("close", () => this.settle((h) => h === entry, "gone"));
    });
  }

  /** Clears every fault; held requests proceed. */
  reset(): void {
    this.latencyMs = 0;
    this.throttles.clear();
    this.failures.clear();
    this.hungActions.clear();
    this.settle(() => true, "proceed");
  }

  /** Drops every held request (their sockets are destroyed by the server). */
  dropAll(): void {
    this.hungActions.clear();
    this.settle(() => true, "gone");
  }

  private settle(match: (h: Held) => boolean, outcome: "proceed" | "gone"): void {
    const hit = this.held.filter(match);
    this.held = this.held.filter((h) => !match(h));
    for (const h of hit) h.resume(outcome);
  }
}
