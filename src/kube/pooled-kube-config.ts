import http from "node:http";
import https from "node:https";
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";

/**
 * Sockets one process keeps to the API server: above the busiest moment (rotation's concurrency,
 * 16 by default, plus the two watches, the Lease and a burst of reviews), bounded so that a stall
 * queues requests instead of opening hundreds of connections.
 */
export const MAX_API_SOCKETS = 32;
/** Distinct TLS identities kept at once (client certificates from an exec plugin rotate). */
const MAX_IDENTITIES = 4;

type AnyAgent = http.Agent & { options?: Record<string, unknown> };

/** What makes two agents interchangeable: where they connect and as whom. */
function identityOf(options: Record<string, unknown>): string {
  const keys = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"];
  const text = (value: unknown) =>
    Buffer.isBuffer(value)
      ? value.toString("base64")
      : typeof value === "string"
        ? value
        : JSON.stringify(value ?? "");
  return JSON.stringify(keys.map((key) => text(options[key])));
}

/**
 * A KubeConfig whose every request (typed APIs, watches, Leases, Events) shares one keep-alive
 * connection pool per TLS identity. @kubernetes/client-node 1.x builds a new Agent for each request,
 * so without this each GET or PUT pays a TCP and TLS handshake (kubernetes-client/javascript#2893).
 * Everything the kubeconfig says still applies: CA, client certificates (a changed certificate is a
 * new identity, hence a new pool), and credentials, which travel in headers set per request (a
 * rotating token file or an exec plugin is read as before). Proxy agents are left as they are.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly pools = new Map<string, AnyAgent>();

  private pooled(agent: AnyAgent | undefined): AnyAgent | undefined {
    const kind = agent?.constructor;
    if (!agent || (kind !== https.Agent && kind !== http.Agent)) return agent;
    const options = agent.options ?? {};
    const key = `${kind === https.Agent ? "https" : "http"}|${identityOf(options)}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const settings = {
        ...options,
        keepAlive: true,
        maxSockets: MAX_API_SOCKETS,
        scheduling: "lifo" as const,
      };
      pool = kind === https.Agent ? new https.Agent(settings) : new http.Agent(settings);
      this.pools.set(key, pool);
      if (this.pools.size > MAX_IDENTITIES) this.drop(this.pools.keys().next().value!);
    }
    agent.destroy();
    return pool;
  }

  private drop(key: string): void {
    this.pools.get(key)?.destroy();
    this.pools.delete(key);
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const pooled = this.pooled(context.getAgent() as AnyAgent | undefined);
    if (pooled) context.setAgent(pooled);
  }

  override async applyToHTTPSOptions(opts: Parameters<KubeConfig["applyToHTTPSOptions"]>[0]): Promise<void> {
    await super.applyToHTTPSOptions(opts);
    const target = opts as { agent?: AnyAgent };
    target.agent = this.pooled(target.agent);
  }

  /** Closes every pooled connection (shutdown, end of a one-shot command). */
  closeConnections(): void {
    for (const key of [...this.pools.keys()]) this.drop(key);
  }
}
