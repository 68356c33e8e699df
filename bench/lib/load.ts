/** autocannon flat out over HTTPS keep-alive, with every response's latency kept (not autocannon's 1 ms-bucket histogram). */
import autocannon from "autocannon";
import { latencyOf, type Latency } from "./stats.js";

export interface LoadOptions {
  port: number;
  /** Request bodies, sent round-robin on each connection. */
  bodies: readonly string[];
  seconds: number;
  connections: number;
  /** Reviews per second over all connections: measure() then uses the paced load; flat out when absent. */
  rate?: number;
}

export interface LoadResult extends Latency {
  /** 2xx responses in the window. */
  reviews: number;
  /** Connection errors, timeouts and non-2xx answers. */
  errors: number;
  seconds: number;
  perSecond: number;
}

export function runLoad(options: Omit<LoadOptions, "rate">): Promise<LoadResult> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `https://127.0.0.1:${options.port}`,
        servername: "localhost",
        connections: options.connections,
        duration: options.seconds,
        timeout: 10,
        requests: options.bodies.map((body) => ({
          method: "POST" as const,
          path: "/mutate?timeout=10s",
          headers: { "content-type": "application/json" },
          body,
        })),
      },
      (error: unknown, result) => {
        if (error) return reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
        const reviews = result["2xx"];
        resolve({
          reviews,
          errors: result.errors + result.non2xx,
          seconds: result.duration,
          perSecond: reviews / result.duration,
          ...latencyOf(latencies),
        });
      },
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}
