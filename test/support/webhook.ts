import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CredentialEnsurer } from "../../src/secrets/credential-ensurer.js";
import type { EventRecorder } from "../../src/kube/events.js";
import type { NamespaceSource } from "../../src/policy/namespace.js";
import { inMemoryNamespaces } from "../../src/policy/namespace.js";
import { startWebhook, type RunningWebhook } from "../../src/commands/serve.js";
import type { Logger } from "../../src/log/logger.js";
import { silentLogger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { issueServingBundle, type ServingBundle } from "../../src/tls/issue.js";
import { enabledNamespace, testConfig } from "./fixtures.js";

export interface TestWebhook extends RunningWebhook {
  ca: string;
  dir: string;
  certFile: string;
  keyFile: string;
  /** Writes a new bundle to the watched files; returns it. */
  rotateCertificate(): Promise<ServingBundle>;
}

/** A bundle for real TLS on loopback: its validity is judged by the real clock, so it is issued by it. */
export async function issueLocalBundle(): Promise<ServingBundle> {
  return issueServingBundle({
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    validityDays: 1,
    now: new Date(),
  });
}

/** A serving certificate's files, and the CA a client trusts it by. */
export interface ServingFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly ca: string;
}

/** A local bundle written to `dir` as `<name>.crt` and `<name>.key` (the key readable by its owner only). */
export async function writeLocalBundle(
  dir: string,
  name = "tls",
): Promise<ServingFiles & { readonly bundle: ServingBundle }> {
  const bundle = await issueLocalBundle();
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await writeFile(certFile, bundle.serving.cert);
  await writeFile(keyFile, bundle.serving.key, { mode: 0o600 });
  return { bundle, certFile, keyFile, ca: bundle.ca.cert };
}

/** The real server on a loopback port with certificate files in a temp directory. */
export async function startTestWebhook(
  options: {
    argv?: string[];
    namespaces?: NamespaceSource;
    ensurer?: CredentialEnsurer;
    events?: EventRecorder;
    logger?: Logger;
  } = {},
): Promise<TestWebhook> {
  const dir = await mkdtemp(join(tmpdir(), "ecr-webhook-test-"));
  const { bundle, certFile, keyFile } = await writeLocalBundle(dir);
  const config = testConfig([
    "--port",
    "0",
    "--metrics-port",
    "0",
    "--tls-cert-file",
    certFile,
    "--tls-key-file",
    keyFile,
    ...(options.argv ?? []),
  ]);
  const webhook = await startWebhook({
    config,
    logger: options.logger ?? silentLogger(),
    namespaces: options.namespaces ?? inMemoryNamespaces([enabledNamespace("team-a")]),
    ensurer: options.ensurer,
    events: options.events,
    metrics: createMetrics(),
    host: "127.0.0.1",
    certPollIntervalMs: 25,
  });
  return {
    ...webhook,
    ca: bundle.ca.cert,
    dir,
    certFile,
    keyFile,
    async rotateCertificate() {
      const next = await issueLocalBundle();
      // Written in this order a poll can catch a mismatched pair: the watcher must keep the old one.
      await writeFile(certFile, next.serving.cert);
      await writeFile(keyFile, next.serving.key);
      return next;
    },
  };
}
