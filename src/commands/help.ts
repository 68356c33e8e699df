import { envName, FLAGS, type CommandName } from "../config/flags.js";

export const COMMANDS: Record<CommandName, string> = {
  serve: "Run the admission webhook (and, on the elected replica, secret rotation).",
  explain: "Show, with no cluster and no AWS, what the webhook would do to a pod manifest.",
  refresh: "Run one rotation cycle against the current cluster and exit (0 when every Secret is fresh).",
  certs: "Issue or renew the webhook's serving certificate and patch the webhook's caBundle.",
  doctor: "Check cluster access, RBAC, registration, certificates, namespaces and AWS, one line per check.",
};

export function usage(): string {
  const lines = ["Usage: ecr-webhook <command> [flags]", "", "Commands:"];
  for (const [name, text] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(9)} ${text}`);
  lines.push("", "Run 'ecr-webhook <command> --help' for the flags of a command.");
  return lines.join("\n");
}

export function commandHelp(command: CommandName, extra: readonly string[] = []): string {
  const lines = [`Usage: ecr-webhook ${command} [flags]`, "", COMMANDS[command], "", "Flags:"];
  lines.push(...extra);
  for (const flag of FLAGS.filter((f) => f.commands.includes(command))) {
    const value =
      flag.kind === "bool" ? "=true|false" : ` <${flag.kind === "repeated" ? "value" : flag.kind}>`;
    const def = flag.default !== undefined ? ` (default ${flag.default})` : "";
    lines.push(`  --${flag.name}${value}`, `      ${flag.help}${def} [env ${envName(flag.name)}]`);
  }
  return lines.join("\n");
}
