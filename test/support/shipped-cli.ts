/**
 * The CLI as the container image runs it: the esbuild bundle and the Node flags of the Dockerfile's
 * ENTRYPOINT. Shared by the bundle test and the benchmarks, so both run exactly what ships.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export const CLI_BUNDLE = `${ROOT}dist/ecr-webhook.mjs`;

/** The `--flags` between the node binary and the script in an exec-form ENTRYPOINT. */
export function entrypointFlags(dockerfile: string): string[] {
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (!line) throw new Error("the Dockerfile has no exec-form ENTRYPOINT");
  const words = JSON.parse(line[1]!) as string[];
  return words.slice(1).filter((word) => word.startsWith("--"));
}

export const imageNodeFlags = (): string[] => entrypointFlags(readFileSync(`${ROOT}Dockerfile`, "utf8"));
