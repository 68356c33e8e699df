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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: "ecr-webhook" },
      redact: { paths: REDACT, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
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
