/**
 * Entry point of a webhook replica in a process of its own (run through test/support/child-node.ts),
 * so a test can SIGKILL it in the middle of its work. It is `serve` with two things the CLI does not
 * take: a fixed identity and short Lease timings. The spec comes as JSON in ECR_WEBHOOK_REPLICA:
 * { "argv": [...serve flags], "identity": "...", "leaseTiming": {...}, "kubeconfig": "<file>" }.
 * It prints {"ready": <port>} on stdout once serving; logs are JSON lines on stdout too.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { startWebhook } from "../../src/commands/serve.js";
import { parseCommandLine } from "../../src/config/command-line.js";
import type { LeaseTiming } from "../../src/controller/controller.js";
import { createLogger } from "../../src/log/logger.js";

interface ReplicaSpec {
  argv: string[];
  identity: string;
  leaseTiming: LeaseTiming;
  kubeconfig: string;
}

const spec = JSON.parse(process.env.ECR_WEBHOOK_REPLICA ?? "{}") as ReplicaSpec;
const { config } = parseCommandLine("serve", spec.argv, process.env);
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(spec.kubeconfig);
const webhook = await startWebhook({
  config,
  logger: createLogger(config.logLevel),
  kubeConfig,
  host: "127.0.0.1",
  identity: spec.identity,
  leaseTiming: spec.leaseTiming,
});
process.stdout.write(`${JSON.stringify({ ready: webhook.port })}\n`);
