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
