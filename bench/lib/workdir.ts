/** A temporary directory for this run: serving certificate files, the product's logs, a kubeconfig. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeLocalBundle } from "../../test/support/webhook.js";

export interface WorkDir {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  ca: string;
  file(name: string): string;
}

export async function makeWorkDir(): Promise<WorkDir> {
  const dir = mkdtempSync(join(tmpdir(), "ecr-webhook-bench-"));
  const { bundle, certFile, keyFile, ca } = await writeLocalBundle(dir);
  return {
    dir,
    certFile,
    keyFile,
    cert: bundle.serving.cert,
    key: bundle.serving.key,
    ca,
    file: (name) => join(dir, name),
  };
}
