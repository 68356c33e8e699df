/**
 * Start-up: how long `ecr-webhook refresh` (the CronJob fallback's whole job) takes from spawn to
 * its first request on the network, cold and with the compile cache the image writes at build time.
 * Both run the bundle with the image's Node flags; the cache is made the way the Dockerfile makes it
 * (`--help` with NODE_COMPILE_CACHE set), then made read-only, and the run fails if a measured
 * process changed it: in the image the process cannot write it, so a cache it would rewrite on every
 * start would be a cache it never benefits from.
 */
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { spawnWebhook } from "../../test/support/webhook-process.js";
import { standInKubeConfig } from "../lib/kube.js";
import { RUNTIME_FLAGS } from "../lib/runtime-flags.js";
import { percentile, round } from "../lib/stats.js";
import type { WorkDir } from "../lib/workdir.js";

export const STARTUP = { runs: 15 };

export interface StartupResult {
  node: string;
  runs: number;
  cacheBytes: number;
  coldMs: { p50: number; min: number; max: number };
  cachedMs: { p50: number; min: number; max: number };
  speedUp: number;
}

/** A listener that plays both the API server and AWS: it notes the first request and answers 503. */
async function firstRequestListener(): Promise<{ server: Server; url: string; next: () => Promise<number> }> {
  let waiting: ((at: number) => void) | undefined;
  const server = createServer((req, res) => {
    waiting?.(performance.now());
    waiting = undefined;
    req.resume();
    res.writeHead(503, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    next: () => new Promise<number>((resolve) => (waiting = resolve)),
  };
}

function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  return total;
}

const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50), 1), min: round(sorted[0]!, 1), max: round(sorted.at(-1)!, 1) };
};

export async function startup(work: WorkDir): Promise<StartupResult> {
  const listener = await firstRequestListener();
  const kubeconfig = work.file("startup.kubeconfig");
  writeFileSync(kubeconfig, standInKubeConfig(listener.url, "startup-token").exportConfig(), { mode: 0o600 });
  const aws = {
    endpointEnv: () => ({ AWS_ENDPOINT_URL_ECR: listener.url, AWS_ENDPOINT_URL_STS: listener.url }),
  };
  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnWebhook(args, {
      kubeconfig,
      aws,
      nodeFlags: RUNTIME_FLAGS,
      env: { NODE_ENV: "production", ...env },
    });

  // The image's cache: written once, with the entrypoint's flags, then read-only.
  const cache = work.file("compile-cache");
  mkdirSync(cache, { recursive: true });
  await run(["--help"], { NODE_COMPILE_CACHE: cache }).exit;
  const cacheBytes = sizeOf(cache);
  if (cacheBytes === 0) throw new Error(`node ${process.version} wrote no compile cache into ${cache}`);
  for (const entry of readdirSync(cache, { recursive: true, withFileTypes: true }))
    chmodSync(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o555 : 0o444);
  chmodSync(cache, 0o555);

  const once = async (cached: boolean): Promise<number> => {
    const arrived = listener.next();
    const started = performance.now();
    const child = run(
      ["refresh"],
      cached ? { NODE_COMPILE_CACHE: cache } : { NODE_DISABLE_COMPILE_CACHE: "1" },
    );
    const failed = child.exit.then(({ code }) => {
      throw new Error(`refresh exited (${code}) before its first request: ${child.stderr().slice(-500)}`);
    });
    const at = await Promise.race([arrived, failed]);
    await child.kill();
    return at - started;
  };

  const cold: number[] = [];
  const warm: number[] = [];
  await once(false); // the bundle into the page cache
  for (let i = 0; i < STARTUP.runs; i++) {
    cold.push(await once(false));
    warm.push(await once(true));
  }
  listener.server.close();
  if (sizeOf(cache) !== cacheBytes)
    throw new Error("the measured process wrote into the read-only compile cache");
  const coldMs = summary(cold);
  const cachedMs = summary(warm);
  return {
    node: process.version,
    runs: STARTUP.runs,
    cacheBytes,
    coldMs,
    cachedMs,
    speedUp: round(coldMs.p50 / cachedMs.p50),
  };
}
