/**
 * An open-loop load at a fixed rate: request i is sent at start + i / rate, whatever the answers
 * before it, spread evenly over the second, as pods arrive at an API server. autocannon's rate limit
 * instead releases each connection's quota at the start of every second, so a "1,000/s" load is 1,000
 * requests at once followed by silence, and its p99 measures that queue, not the server.
 */
import { Agent, request } from "node:https";
import { latencyOf } from "./stats.js";
import type { LoadResult } from "./load.js";

export interface PacedOptions {
  port: number;
  ca: string;
  bodies: readonly string[];
  seconds: number;
  /** Keep-alive connections, at most; a request finding them all busy waits for one (and that counts). */
  connections: number;
  rate: number;
  /** Reused across windows, so that TLS handshakes fall in the warm-up, not in the measure. */
  agent?: Agent;
}

export interface PacedResult extends LoadResult {
  /** How late the generator sent its latest request compared with its schedule (a busy client shows here). */
  maxSendLagMs: number;
  /** Every answered request's latency, to merge windows (not written to the results). */
  latencies: number[];
}

export const pacedAgent = (ca: string, connections: number): Agent =>
  new Agent({ keepAlive: true, maxSockets: connections, ca });

export async function runPacedLoad(options: PacedOptions): Promise<PacedResult> {
  const agent = options.agent ?? pacedAgent(options.ca, options.connections);
  const latencies: number[] = [];
  let errors = 0;
  let maxSendLagMs = 0;
  const total = Math.round(options.rate * options.seconds);
  const intervalMs = 1000 / options.rate;
  const inFlight = new Set<Promise<void>>();

  const send = (body: string) => {
    const started = performance.now();
    const done = new Promise<void>((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          servername: "localhost",
          port: options.port,
          path: "/mutate?timeout=10s",
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) latencies.push(performance.now() - started);
            else errors++;
            resolve();
          });
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };

  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * intervalMs <= now) {
        maxSendLagMs = Math.max(maxSendLagMs, now - (start + sent * intervalMs));
        send(options.bodies[sent % options.bodies.length]!);
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
      else resolve();
    };
    tick();
  });
  await Promise.all(inFlight);
  const seconds = (performance.now() - start) / 1000;
  if (!options.agent) agent.destroy();
  return {
    reviews: latencies.length,
    errors,
    seconds,
    perSecond: latencies.length / seconds,
    maxSendLagMs,
    latencies,
    ...latencyOf(latencies),
  };
}
