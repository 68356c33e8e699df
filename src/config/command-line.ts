/**
 * A command's command line: its flags parsed (environment twins fill what the command line leaves
 * out), the Config built from them, and whatever else the command itself takes.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { buildConfig } from "./build-config.js";
import { ConfigError, type Config } from "./config.js";
import type { RawFlags } from "./flag-reader.js";
import { envName, FLAGS, type CommandName } from "./flags.js";

export interface CommandLine {
  readonly config: Config;
  readonly extra: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

/**
 * Parses a command's flags (environment twins fill what the command line leaves out), validates
 * every value once and returns a frozen Config. Unknown flags and bad values throw ConfigError.
 */
export function parseCommandLine(
  command: CommandName,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  extraOptions: ParseArgsConfig["options"] = {},
): CommandLine {
  const specs = FLAGS.filter((f) => f.commands.includes(command));
  const options: NonNullable<ParseArgsConfig["options"]> = { ...extraOptions };
  for (const spec of specs) {
    options[spec.name] = { type: "string", multiple: spec.kind === "repeated" };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError(
      `${(error as Error).message.split("\n")[0]} (see 'ecr-webhook ${command} --help').`,
    );
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const raw: RawFlags = new Map();
  const extra: CommandLine["extra"] = {};
  for (const [key, value] of Object.entries(values)) {
    if (specs.some((s) => s.name === key)) raw.set(key, value as string | string[]);
    else extra[key] = value;
  }
  for (const spec of specs) {
    const fromEnv = env[envName(spec.name)];
    if (!raw.has(spec.name) && fromEnv !== undefined && fromEnv !== "") {
      raw.set(spec.name, spec.kind === "repeated" ? fromEnv.split(/\s+/).filter(Boolean) : fromEnv);
    }
  }
  return { config: buildConfig(raw, env, command), extra, positionals: parsed.positionals };
}
