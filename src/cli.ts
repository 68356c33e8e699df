#!/usr/bin/env node
import { ConfigError } from "./config/config.js";
import type { CommandName } from "./config/flags.js";
import { COMMANDS, commandHelp, usage } from "./commands/help.js";

type Runner = (argv: string[]) => Promise<number>;

// Each command is loaded only when asked for, so `explain` never pays for the AWS SDK.
const RUNNERS: Partial<Record<CommandName, () => Promise<Runner>>> = {
  serve: async () => (await import("./commands/serve-cli.js")).runServe,
  explain: async () => (await import("./commands/explain.js")).runExplain,
  refresh: async () => (await import("./commands/refresh.js")).runRefresh,
  certs: async () => (await import("./commands/certs.js")).runCerts,
  doctor: async () => (await import("./commands/doctor.js")).runDoctor,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    console.log(usage());
    return command ? 0 : 2;
  }
  if (!(command in COMMANDS)) {
    console.error(`Unknown command "${command}".\n\n${usage()}`);
    return 2;
  }
  const name = command as CommandName;
  if (rest.includes("--help") || rest.includes("-h")) {
    const extra = name === "explain" ? (await import("./commands/explain.js")).EXPLAIN_HELP : [];
    console.log(commandHelp(name, extra));
    return 0;
  }
  const load = RUNNERS[name];
  if (!load) {
    console.error(`The ${name} command is not available in this build.`);
    return 2;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Operators get one sentence; a stack trace is for bugs, and only at debug level.
    if (error instanceof ConfigError) {
      console.error(`ecr-webhook: ${error.message}`);
      process.exitCode = 2;
    } else {
      console.error(`ecr-webhook: ${(error as Error)?.message ?? String(error)}`);
      if (process.env.ECR_WEBHOOK_LOG_LEVEL === "debug") console.error(error);
      process.exitCode = 1;
    }
  },
);
