/** A temporary directory for this run: serving certificate files, the product's logs, a kubeconfig. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueLocalBundle } from "../../test/support/webhook.js";

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
  const bundle = await issueLocalBundle();
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  writeFileSync(certFile, bundle.serving.cert);
  writeFileSync(keyFile, bundle.serving.key, { mode: 0o600 });
  return {
    dir,
    certFile,
    keyFile,
    cert: bundle.serving.cert,
    key: bundle.serving.key,
    ca: bundle.ca.cert,
    file: (name) => join(dir, name),
  };
}
