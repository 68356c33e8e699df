import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository root, for entry points given relative to it. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Module hooks that let a plain `node` run this repository's TypeScript as it is (no build): a
 * relative `./x.js` import from a .ts file resolves to `./x.ts` when only that exists, and .ts files
 * are transpiled one by one with the project's own `typescript` (type-only imports vanish, as with
 * verbatimModuleSyntax). Tests use it to run the real CLI, or a replica, in a process of its own
 * that they can signal or kill.
 */
const hooks = (typescriptUrl: string) => `
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import ts from ${JSON.stringify(typescriptUrl)};

export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? "";
  if (parent.endsWith(".ts") && /^\\.{1,2}\\//.test(specifier) && specifier.endsWith(".js")) {
    const url = new URL(specifier, parent);
    if (!existsSync(fileURLToPath(url))) {
      const candidate = new URL(url.href.slice(0, -3) + ".ts");
      if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true };
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context);
  const fileName = fileURLToPath(url);
  const { outputText } = ts.transpileModule(await readFile(fileName, "utf8"), {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
    },
  });
  return { format: "module", source: outputText, shortCircuit: true };
}
`;

let registerFile: Promise<string> | undefined;

function loaderRegistration(): Promise<string> {
  registerFile ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), "ecr-webhook-ts-hooks-"));
    const typescript = pathToFileURL(createRequire(import.meta.url).resolve("typescript")).href;
    await writeFile(join(dir, "hooks.mjs"), hooks(typescript));
    await writeFile(
      join(dir, "register.mjs"),
      'import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n',
    );
    return join(dir, "register.mjs");
  })();
  return registerFile;
}

export interface TsChild {
  readonly child: ChildProcess;
  /** Every line written so far, stdout and stderr apart. */
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the first stdout line (already written or still to come) that matches. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** Resolves when the process has exited. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL unless it has exited already (cleanup). */
  stop(): Promise<void>;
}

/**
 * Runs `entry` (a .ts file under the repository) with `node`, arguments and extra environment (a
 * variable given as undefined is removed).
 */
export async function spawnTs(entry: string, args: string[], env: NodeJS.ProcessEnv): Promise<TsChild> {
  const register = await loaderRegistration();
  const merged = Object.fromEntries(
    Object.entries({ ...process.env, ...env }).filter(([, value]) => value !== undefined),
  );
  const child = spawn(process.execPath, ["--import", register, join(REPO_ROOT, entry), ...args], {
    cwd: REPO_ROOT,
    env: merged,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  const splitter = (into: string[], notify: boolean) => {
    let rest = "";
    return (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        into.push(line);
        if (!notify) continue;
        for (const waiter of waiters.filter((w) => w.match(line))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    };
  };
  child.stdout.on("data", splitter(stdout, true));
  child.stderr.on("data", splitter(stderr, false));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  let exited = false;
  void exit.then(() => (exited = true));
  return {
    child,
    stdout,
    stderr,
    exit,
    waitForLine(match, timeoutMs) {
      const seen = stdout.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `no matching line from ${entry} within ${timeoutMs} ms; stderr:\n${stderr.slice(-20).join("\n")}`,
            ),
          );
        }, timeoutMs);
        waiters.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exit.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(
            new Error(
              `${entry} exited (${code ?? signal}) before the line; stderr:\n${stderr.slice(-20).join("\n")}`,
            ),
          );
        });
      });
    },
    async stop() {
      if (exited) return;
      child.kill("SIGKILL");
      await exit;
    },
  };
}
