/**
 * The shipped bundle (dist/ecr-webhook.mjs) in a process of its own, as the container image runs it:
 * the Dockerfile's Node flags, configured only through its command line and the environment of
 * `webhookProcessEnv`. Tests and benchmarks all start it here, so all of them run what ships.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { webhookProcessEnv } from "./aws-env.js";
import { freePort } from "./free-port.js";
import { httpsRequest } from "./https-client.js";
import { scrapeMetric } from "./metrics-text.js";
import { CLI_BUNDLE, imageNodeFlags } from "./shipped-cli.js";
import type { ServingFiles } from "./webhook.js";

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface WebhookProcessOptions {
  /** The kubeconfig it reads (KUBECONFIG); none: no cluster at all. */
  readonly kubeconfig?: string;
  /** The AWS stand-in its SDK clients are pointed at; none: no AWS endpoints. */
  readonly aws?: { endpointEnv(): Record<string, string> };
  /** More environment, applied last; a variable given as undefined is removed. */
  readonly env?: NodeJS.ProcessEnv;
  /** The Node flags before the script; by default the Dockerfile's ENTRYPOINT flags. */
  readonly nodeFlags?: readonly string[];
  /** The script; by default dist/ecr-webhook.mjs. */
  readonly bundle?: string;
  /**
   * stdout (the JSON logs, a command's report) goes straight into this file and stderr to this
   * process's own: a long benchmark's logs then cost this process neither memory nor CPU. Without
   * it both streams are kept in memory.
   */
  readonly logFile?: string;
}

export interface WebhookProcess {
  readonly pid: number;
  readonly exit: Promise<ProcessExit>;
  /** What it has written to stdout so far. */
  stdout(): string;
  /** What it has written to stderr so far (nothing is kept with a `logFile`). */
  stderr(): string;
  /** Every complete line written so far, stdout and stderr together in arrival order. */
  lines(): string[];
  /** Parsed JSON log lines whose msg contains `text`. */
  logged(text: string): Record<string, unknown>[];
  /** SIGTERM, as the kubelet sends; SIGKILL once `graceMs` have passed; resolves with the exit. */
  stop(graceMs?: number): Promise<ProcessExit>;
  /** SIGKILL, unless it has exited already. */
  kill(): Promise<ProcessExit>;
}

/** Lines complete so far: the text after the last newline is still being written. */
const completeLines = (text: string): string[] => text.split("\n").slice(0, -1);

/** Keeps what a child writes in memory, each stream split into lines on its own. */
function memoryCapture(child: ChildProcess) {
  const text = { stdout: "", stderr: "" };
  const lines: string[] = [];
  for (const stream of ["stdout", "stderr"] as const) {
    let rest = "";
    child[stream]!.on("data", (chunk: Buffer) => {
      const part = chunk.toString("utf8");
      text[stream] += part;
      const split = (rest + part).split("\n");
      rest = split.pop() ?? "";
      lines.push(...split);
    });
  }
  return { stdout: () => text.stdout, stderr: () => text.stderr, lines: () => lines };
}

function spawnInto(
  args: readonly string[],
  options: WebhookProcessOptions,
  out: number | "pipe",
): ChildProcess {
  const env = webhookProcessEnv(options.kubeconfig, options.aws?.endpointEnv() ?? {}, options.env);
  return spawn(
    process.execPath,
    [...(options.nodeFlags ?? imageNodeFlags()), options.bundle ?? CLI_BUNDLE, ...args],
    {
      env: Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined)),
      stdio: ["ignore", out, out === "pipe" ? "pipe" : "inherit"],
    },
  );
}

/** Runs `node <flags> <bundle> <args>`: any command of the CLI, `serve` among them. */
export function spawnWebhook(args: readonly string[], options: WebhookProcessOptions = {}): WebhookProcess {
  const { logFile } = options;
  let child: ChildProcess;
  let output: Pick<WebhookProcess, "stdout" | "stderr" | "lines">;
  if (logFile === undefined) {
    child = spawnInto(args, options, "pipe");
    output = memoryCapture(child);
  } else {
    const fd = openSync(logFile, "w");
    try {
      child = spawnInto(args, options, fd);
    } finally {
      closeSync(fd);
    }
    const stdout = () => readFileSync(logFile, "utf8");
    output = { stdout, stderr: () => "", lines: () => completeLines(stdout()) };
  }
  let exited = false;
  const exit = new Promise<ProcessExit>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );
  return {
    pid: child.pid!,
    exit,
    ...output,
    logged(text) {
      return output
        .lines()
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => typeof line.msg === "string" && line.msg.includes(text));
    },
    async stop(graceMs = 30_000) {
      if (exited) return exit;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const result = await exit;
      clearTimeout(timer);
      return result;
    },
    async kill() {
      if (!exited) child.kill("SIGKILL");
      return exit;
    },
  };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One run of a one-shot command (refresh, certs, doctor, explain), killed after `timeoutMs`. */
export async function runCli(
  args: readonly string[],
  options: WebhookProcessOptions & { timeoutMs?: number } = {},
): Promise<CliResult> {
  const cli = spawnWebhook(args, options);
  const timer = setTimeout(() => void cli.kill(), options.timeoutMs ?? 60_000);
  const { code } = await cli.exit;
  clearTimeout(timer);
  return { code: code ?? 1, stdout: cli.stdout(), stderr: cli.stderr() };
}

export interface ServeProcess extends WebhookProcess {
  readonly port: number;
  readonly metricsPort: number;
  readonly url: string;
  /** The status /readyz answers with (0 when nothing answered). */
  readyz(): Promise<number>;
  /** Until /readyz answers 200; throws, with the last lines written, if it exits or the time is up. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Sum of a metric's samples whose labels include `labels`, from its own /metrics. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/**
 * `serve` on loopback: on `port` (by default a free one), its metrics on a free port, with `tls`
 * as its serving certificate, `args` after those. Resolves once started; `waitReady` waits.
 */
export async function startServe(
  options: WebhookProcessOptions & {
    tls: ServingFiles;
    port?: number;
    metricsPort?: number;
    args?: readonly string[];
  },
): Promise<ServeProcess> {
  const port = options.port ?? (await freePort());
  const metricsPort = options.metricsPort ?? (await freePort());
  const serve = spawnWebhook(
    [
      "serve",
      `--port=${port}`,
      `--metrics-port=${metricsPort}`,
      `--tls-cert-file=${options.tls.certFile}`,
      `--tls-key-file=${options.tls.keyFile}`,
      ...(options.args ?? []),
    ],
    options,
  );
  let exited = false;
  void serve.exit.then(() => (exited = true));
  const lastLines = () => serve.lines().slice(-20).join("\n");
  const readyz = () =>
    httpsRequest({ port, ca: options.tls.ca, method: "GET", path: "/readyz", timeoutMs: 2_000 }).then(
      (res) => res.status,
      () => 0,
    );
  return {
    ...serve,
    port,
    metricsPort,
    url: `https://127.0.0.1:${port}`,
    readyz,
    async waitReady(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exited) throw new Error(`serve exited before it was ready:\n${lastLines()}`);
        if ((await readyz()) === 200) return;
        await sleep(100);
      }
      throw new Error(`serve not ready within ${timeoutMs} ms:\n${lastLines()}`);
    },
    metric: (name, labels) => scrapeMetric(metricsPort, name, labels),
  };
}
