/**
 * The CLI as the container image runs it: the esbuild bundle and the Node flags of the Dockerfile's
 * ENTRYPOINT. Shared by the bundle test and the benchmarks, so both run exactly what ships.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execFormOf } from "./dockerfile.js";

/** The package root, from test/support/ or from its compiled copy under dist-bench/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "Dockerfile"))) {
    if (dirname(dir) === dir) throw new Error("no Dockerfile above test/support");
    dir = dirname(dir);
  }
  return dir;
}

const ROOT = packageRoot();

export const CLI_BUNDLE = join(ROOT, "dist", "ecr-webhook.mjs");

/** The `--flags` between the node binary and the script in the final stage's exec-form ENTRYPOINT. */
export function entrypointFlags(dockerfile: string): string[] {
  const words = execFormOf(dockerfile, "ENTRYPOINT");
  if (!words) throw new Error("the Dockerfile has no exec-form ENTRYPOINT");
  return words.slice(1).filter((word) => word.startsWith("--"));
}

export const imageNodeFlags = (): string[] => entrypointFlags(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
