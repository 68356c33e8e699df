import { parseCommandLine } from "../config/command-line.js";
import { loadKubeConfig } from "../kube/kube-config.js";
import { createLogger } from "../log/logger.js";
import { startWebhook } from "./serve.js";

/** `ecr-webhook serve`: start, then shut down gracefully on SIGTERM or SIGINT. */
export async function runServe(argv: string[]): Promise<number> {
  const { config } = parseCommandLine("serve", argv, process.env);
  const logger = createLogger(config.logLevel);
  const kubeConfig = loadKubeConfig();
  const webhook = await startWebhook({ config, logger, kubeConfig });
  if (webhook.caBundlePath) {
    console.error(
      `ecr-webhook: self-signed certificate for localhost; CA bundle written to ${webhook.caBundlePath}`,
    );
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  // SIGTERM is a pod being replaced: keep serving until the endpoints have let go. SIGINT is a person.
  const drainMs = signal === "SIGTERM" ? config.shutdownDelayMs : 0;
  logger.info({ signal, drainMs }, "shutting down: not ready, serving until endpoints let go, then draining");
  await webhook.close({ drainMs });
  logger.info("stopped");
  return 0;
}
