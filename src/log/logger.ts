import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * Paths that could carry credentials if a careless call site ever logged a whole object. Call sites
 * never log tokens on purpose; this is the second line of defence, configured once.
 */
const REDACT = [
  "password",
  "token",
  "authorizationToken",
  "auth",
  "data",
  "stringData",
  "credentials",
  "secretAccessKey",
  "sessionToken",
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

/**
 * Fields added to every line of one unit of work (a review), merged only when a line is written.
 * pino's child() serialises and redacts its bindings when it is created, which for a warm review at
 * --log-level=warn cost more than the review itself.
 */
export function withFields(logger: Logger, bound: Record<string, unknown>): FieldLogger {
  const at =
    (level: Level) =>
    (fields: Record<string, unknown>, message: string): void => {
      if (logger.isLevelEnabled(level)) logger[level]({ ...bound, ...fields }, message);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
