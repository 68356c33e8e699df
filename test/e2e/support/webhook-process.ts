/**
 * The shipped bundle run as the image runs it (the Dockerfile's Node flags), out of process, with the
 * webhook ServiceAccount's own token: what RBAC does not grant fails here as it would in a cluster.
 * AWS is the loopback stand-in behind the real SDK.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { Agent, request } from "node:https";
import { join } from "node:path";
import type { AwsStandIn } from "../../support/aws/index.js";
import { webhookProcessEnv } from "../../support/aws-env.js";
import { freePort } from "../../support/free-port.js";
import { scrapeMetric } from "../../support/metrics-text.js";
import { CLI_BUNDLE, imageNodeFlags } from "../../support/shipped-cli.js";
import { issueLocalBundle } from "../../support/webhook.js";
import type { ServingBundle } from "../../../src/tls/issue.js";

export interface Tls {
  readonly bundle: ServingBundle;
  readonly certFile: string;
  readonly keyFile: string;
}

export async function localTls(dir: string, name: string): Promise<Tls> {
  const bundle = await issueLocalBundle();
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await writeFile(certFile, bundle.serving.cert);
  await writeFile(keyFile, bundle.serving.key, { mode: 0o600 });
  return { bundle, certFile, keyFile };
}

export interface ServeProcess {
  readonly port: number;
  readonly metricsPort: number;
  readonly url: string;
  readonly tls: Tls;
  /** Every line written so far (JSON log lines, stdout and stderr together). */
  readonly lines: string[];
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Parsed JSON log lines whose msg contains `text`. */
  logged(text: string): Record<string, unknown>[];
  readyz(): Promise<number>;
  waitReady(timeoutMs?: number): Promise<void>;
  /** Sum of a metric's samples whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

function httpsGet(port: number, path: string, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `https://127.0.0.1:${port}${path}`,
      { ca, servername: "localhost", agent: new Agent({ keepAlive: false }), timeout: 2_000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

export async function startServe(options: {
  kubeconfig: string;
  aws: AwsStandIn;
  tls: Tls;
  args?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** A fixed port (the one the webhook configuration names); default a free one. */
  port?: number;
}): Promise<ServeProcess> {
  const port = options.port ?? (await freePort());
  const metricsPort = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...imageNodeFlags(),
      CLI_BUNDLE,
      "serve",
      `--port=${port}`,
      `--metrics-port=${metricsPort}`,
      `--tls-cert-file=${options.tls.certFile}`,
      `--tls-key-file=${options.tls.keyFile}`,
      "--log-level=debug",
      // Nothing balances over these processes (but in the rollout file, which sets its own): a test's
      // SIGTERM need not wait out endpoints.
      "--shutdown-delay=200ms",
      ...(options.args ?? []),
    ],
    {
      env: webhookProcessEnv(options.kubeconfig, options.aws.endpointEnv(), options.env),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const lines: string[] = [];
  let rest = "";
  const collect = (chunk: Buffer) => {
    const parts = (rest + chunk.toString("utf8")).split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  let exited = false;
  void exit.then(() => (exited = true));
  const ca = options.tls.bundle.ca.cert;
  const self: ServeProcess = {
    port,
    metricsPort,
    url: `https://127.0.0.1:${port}`,
    tls: options.tls,
    lines,
    exit,
    logged(text) {
      return lines
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => typeof l.msg === "string" && l.msg.includes(text));
    },
    readyz: () => httpsGet(port, "/readyz", ca),
    async waitReady(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exited) throw new Error(`serve exited before it was ready:\n${lines.slice(-20).join("\n")}`);
        if ((await self.readyz()) === 200) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`serve not ready within ${timeoutMs} ms:\n${lines.slice(-20).join("\n")}`);
    },
    metric: (name, labels) => scrapeMetric(metricsPort, name, labels),
    async stop() {
      if (exited) return exit;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const result = await exit;
      clearTimeout(timer);
      return result;
    },
    async kill() {
      if (!exited) child.kill("SIGKILL");
      await exit;
    },
  };
  return self;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One run of a one-shot command of the bundle (refresh, certs, doctor). */
export function runCli(
  args: readonly string[],
  options: { kubeconfig: string; aws: AwsStandIn; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...imageNodeFlags(), CLI_BUNDLE, ...args],
      {
        env: webhookProcessEnv(options.kubeconfig, options.aws.endpointEnv(), options.env),
        timeout: options.timeoutMs ?? 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
