import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import { CertificateWatcher, type LoadedPair } from "./cert-watcher.js";
import { inspectCertificate, issueServingBundle } from "./issue.js";

export interface ServingPair {
  readonly pair: LoadedPair;
  /** Present when the pair comes from files and is reloaded on change. */
  readonly watcher?: CertificateWatcher;
  /** Present for a generated pair: where its CA bundle was written. */
  readonly caBundlePath?: string;
}

/**
 * Files when configured (reloaded on change); otherwise, for local use, an ephemeral CA and serving
 * certificate for localhost whose CA bundle is written to disk so a local cluster can call us by URL.
 */
export async function servingPair(
  config: Pick<Config, "tlsCertFile" | "tlsKeyFile" | "caBundleOut">,
  logger: Logger,
  onChange: (pair: LoadedPair) => void,
): Promise<ServingPair> {
  if (config.tlsCertFile && config.tlsKeyFile) {
    const watcher = new CertificateWatcher(config.tlsCertFile, config.tlsKeyFile, logger, onChange);
    return { pair: await watcher.load(), watcher };
  }
  const bundle = await issueServingBundle({
    dnsNames: ["localhost", "host.docker.internal", "host.k3d.internal", "host.minikube.internal"],
    ipAddresses: ["127.0.0.1", "::1"],
    validityDays: 30,
    now: new Date(),
  });
  const caBundlePath = config.caBundleOut ?? join(await mkdtemp(join(tmpdir(), "ecr-webhook-")), "ca.crt");
  await writeFile(caBundlePath, bundle.ca.cert, { mode: 0o644 });
  const pair = {
    cert: Buffer.from(bundle.serving.cert),
    key: Buffer.from(bundle.serving.key),
    notAfter: inspectCertificate(bundle.serving.cert).notAfter,
  };
  return { pair, caBundlePath };
}
