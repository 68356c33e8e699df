import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * Paths that could carry credentials if a careless call site ever logged a whole object. Call sites
 * never log tokens on purpose; this is the second line of defence, configured once.
 */
const TOP_LEVEL = [
  "password",
  "token",
  "authorizationToken",
  "auth",
  "data",
  "stringData",
  "credentials",
  "secretAccessKey",
  "sessionToken",
];
const REDACT = [
  ...TOP_LEVEL,
  "*.password",
  "*.token",
  "*.authorizationToken",
  "*.auth",
  "*.data",
  "*.stringData",
  "*.credentials",
  "*.secretAccessKey",
  "*.sessionToken",
  "*.SecretAccessKey",
  "*.SessionToken",
];

/** Lines at info and below wait at most this long, or until this many bytes are waiting. */
export const GATHER_MS = 100;
export const GATHER_BYTES = 4096;
const WARN = 40;

/**
 * Standard output as the logger writes it: lines at warn and above are written at once (with
 * whatever waits before them, so the order holds); lines at info and below (a review's line, one per
 * pod) wait up to GATHER_MS or GATHER_BYTES and go out together, one write instead of one per line.
 * That write, a syscall, was the dearest part of a review's line (25 of 44 µs on CPU as the API
 * server drives it). Waiting lines are written when the process exits.
 */
class GatheredStdout implements DestinationStream {
  /** Each line's level: pino sets it before each write (asked for by the pino.metadata symbol). */
  lastLevel = 0;
  private waiting: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly out = pino.destination({ fd: 1, sync: true });

  constructor() {
    Object.defineProperty(this, Symbol.for("pino.metadata"), { value: true });
    process.once("exit", () => this.flush());
  }

  write(line: string): void {
    this.waiting.push(line);
    this.bytes += line.length;
    if (this.lastLevel >= WARN || this.bytes >= GATHER_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), GATHER_MS).unref();
  }

  flush(done?: (error?: Error) => void): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.waiting.length > 0) {
      const text = this.waiting.length === 1 ? this.waiting[0]! : this.waiting.join("");
      this.waiting = [];
      this.bytes = 0;
      this.out.write(text);
    }
    done?.();
  }
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: "ecr-webhook" },
      redact: { paths: REDACT, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? new GatheredStdout(),
  );
}

/** For tests and one-shot commands that want no output. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

type Level = "debug" | "info" | "warn" | "error";
export type FieldLogger = Record<Level, (fields: Record<string, unknown>, message: string) => void>;

const flatLoggers = new WeakMap<Logger, Logger>();

/**
 * The same logger (destination, level, format) redacting only top-level keys. The `*.` paths match
 * keys inside a field's object value; for a line with none they can match nothing, yet fast-redact
 * walks every one of them for every line: ~15 µs, most of what writing a review's line costs.
 */
function flatLogger(logger: Logger): Logger {
  let flat = flatLoggers.get(logger);
  if (!flat) {
    flat = logger.child({}, { redact: { paths: TOP_LEVEL, censor: "[redacted]" } });
    flatLoggers.set(logger, flat);
  }
  return flat;
}

/** No field holds an object (an array of plain values is fine): no `*.` path can match inside it. */
function isFlat(fields: Record<string, unknown>): boolean {
  for (const key in fields) {
    const value = fields[key];
    if (typeof value !== "object" || value === null) continue;
    if (!Array.isArray(value)) return false;
    for (const item of value as unknown[]) if (typeof item === "object" && item !== null) return false;
  }
  return true;
}

/**
 * Fields added to every line of one unit of work (a review), merged only when a line is written.
 * pino's child() serialises and redacts its bindings when it is created, which for a warm review at
 * --log-level=warn cost more than the review itself. A line whose fields are all plain values (a
 * review's line: uid, kind, namespace, outcome, registries…) is redacted by top-level key alone;
 * one carrying an object (an error, say) goes through every path.
 */
export function withFields(logger: Logger, bound: Record<string, unknown>): FieldLogger {
  const at =
    (level: Level) =>
    (fields: Record<string, unknown>, message: string): void => {
      if (!logger.isLevelEnabled(level)) return;
      const line = { ...bound, ...fields };
      (isFlat(line) ? flatLogger(logger) : logger)[level](line, message);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
