/** Reading a Dockerfile: shared by the manifest tests and the image's Node flags (shipped-cli.ts). */

export interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions, grouped by stage (each starts with FROM); comments and continuations resolved. */
export function dockerStages(text: string): DockerInstruction[][] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || (line === "" && pending === "")) continue;
    pending += (pending ? " " : "") + line.replace(/\\$/, "").trim();
    if (!line.endsWith("\\")) {
      logical.push(pending);
      pending = "";
    }
  }
  const stages: DockerInstruction[][] = [];
  for (const line of logical) {
    const [, keyword = "", args = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args };
    if (instruction.keyword === "FROM") stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** The arguments of the last stage's exec-form `keyword` (ENTRYPOINT, CMD), as a list. */
export function execFormOf(text: string, keyword: string): string[] | undefined {
  const line = dockerStages(text)
    .at(-1)
    ?.filter((i) => i.keyword === keyword)
    .at(-1);
  const value: unknown = line ? JSON.parse(line.args) : undefined;
  return Array.isArray(value) ? (value as string[]) : undefined;
}
