import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root (this file runs as dist-bench/bench/lib/paths.js). */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const RESULTS_DIR = join(ROOT, "bench", "results");

/** A compiled child-process entry point under bench/procs/. */
export const procScript = (name: string): string =>
  fileURLToPath(new URL(`../procs/${name}.js`, import.meta.url));
