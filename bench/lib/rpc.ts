/**
 * Parent/child plumbing: every measured process is a fork() of a script under bench/procs/ that
 * answers named operations over the IPC channel, so its CPU and memory are its own.
 */
import { fork } from "node:child_process";
import { closeSync, openSync } from "node:fs";

interface Message {
  id: number;
  op: string;
  arg?: unknown;
}
interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export interface Child {
  readonly pid: number;
  call<T>(op: string, arg?: unknown): Promise<T>;
  /** Asks the child to close and exit; kills this child (by pid) if it has not exited in 10 s. */
  stop(): Promise<void>;
}

/** Forks `script`; its stdout (the product's JSON logs) goes to `logFile`, or nowhere. */
export function startChild(script: string, options: { logFile?: string; execArgv?: string[] } = {}): Child {
  const out = options.logFile ? openSync(options.logFile, "w") : "ignore";
  const child = fork(script, [], {
    stdio: ["ignore", out, "inherit", "ipc"],
    execArgv: options.execArgv ?? [],
  });
  if (typeof out === "number") closeSync(out);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error(`${script} exited (${code ?? signal})`));
      pending.clear();
      resolve();
    }),
  );
  child.on("message", (reply: Reply) => {
    const p = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.ok) p?.resolve(reply.value);
    else p?.reject(new Error(reply.error));
  });
  return {
    pid: child.pid!,
    call<T>(op: string, arg?: unknown) {
      if (exited) return Promise.reject(new Error(`${script} has exited`));
      const id = ++nextId;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, op, arg } satisfies Message);
      });
    },
    async stop() {
      if (exited) return;
      await this.call("exit").catch(() => undefined);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

type Handler = (arg: any) => unknown;

/** Child side: answers operations; "exit" runs `close` and ends the process; so does losing the parent. */
export function serveRpc(
  handlers: Record<string, Handler>,
  close: () => Promise<void> = async () => {},
): void {
  const send = (reply: Reply) => process.send?.(reply);
  process.on("disconnect", () => process.exit(1));
  process.on("message", (msg: Message) => {
    void (async () => {
      try {
        if (msg.op === "exit") {
          await close();
          send({ id: msg.id, ok: true });
          process.disconnect();
          setImmediate(() => process.exit(0));
          return;
        }
        const handler = handlers[msg.op];
        if (!handler) throw new Error(`unknown operation ${msg.op}`);
        send({ id: msg.id, ok: true, value: await handler(msg.arg) });
      } catch (error) {
        send({
          id: msg.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
      }
    })();
  });
}
