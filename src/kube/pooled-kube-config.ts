import type https from "node:https";
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";
import { Agent, type Dispatcher } from "undici";

/**
 * Sockets one process keeps to the API server: above the busiest moment (rotation's concurrency,
 * 16 by default, plus the two watches, the Lease and a burst of reviews), bounded so that a stall
 * queues requests instead of opening hundreds of connections.
 */
export const MAX_API_SOCKETS = 32;
/** Distinct TLS identities kept at once (client certificates from an exec plugin rotate). */
const MAX_IDENTITIES = 4;
/**
 * How long an idle connection is kept. undici's default (4 s) would reconnect between two rotation
 * bursts; the API server closes idle connections after 90 s (its IdleTimeout), so stay below it.
 */
const IDLE_KEEP_MS = 60_000;

/** TLS settings that make two connections interchangeable: whom they trust and who they are. */
const TLS_KEYS = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"] as const;

function identityOf(server: string, options: https.RequestOptions): string {
  const text = (value: unknown) =>
    Buffer.isBuffer(value)
      ? value.toString("base64")
      : typeof value === "string"
        ? value
        : JSON.stringify(value ?? "");
  const tls = options as Record<string, unknown>;
  return JSON.stringify([new URL(server).origin, ...TLS_KEYS.map((key) => text(tls[key]))]);
}

/**
 * A KubeConfig whose every request (typed APIs, watches, Leases, Events, the JSON client) shares one
 * keep-alive connection pool per TLS identity. @kubernetes/client-node 2.x builds a new undici Agent
 * for every request (`applySecurityAuthentication`), so each GET or PUT would pay a TCP and TLS
 * handshake. Everything the kubeconfig says still applies: the CA, client certificates (a changed
 * certificate is a new identity, hence a new pool), and credentials, which travel in headers set per
 * request (a rotating token file or an exec plugin is read as before). Proxies are left to the client.
 * Plain-HTTP servers (a local proxy, tests) get a pool too: the client would otherwise use fetch's
 * global dispatcher, which keeps connections alive but never bounds how many it opens.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly pools = new Map<string, Agent>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    const cluster = this.getCurrentCluster();
    if (!cluster || cluster.proxyUrl) {
      await super.applySecurityAuthentication(context);
      return;
    }
    // The same settings the client derives for its own Agent (CA, client certificate, credentials).
    const options: https.RequestOptions = {};
    await this.applyToHTTPSOptions(options);
    for (const [name, value] of Object.entries(options.headers ?? {}))
      context.setHeaderParam(name, String(value));
    if (options.auth)
      context.setHeaderParam("Authorization", `Basic ${Buffer.from(options.auth).toString("base64")}`);
    context.setDispatcher(this.pooled(cluster.server, options));
  }

  private pooled(server: string, options: https.RequestOptions): Dispatcher {
    const key = identityOf(server, options);
    let pool = this.pools.get(key);
    if (!pool) {
      const tls = Object.fromEntries(
        TLS_KEYS.filter((name) => options[name] !== undefined).map((name) => [name, options[name]]),
      );
      pool = new Agent({
        connections: MAX_API_SOCKETS,
        // HTTP/1.1, one request per connection at a time. undici 8 negotiates HTTP/2 by default, and
        // a rotation's 16 writes then share one connection through undici's HTTP/2 path, which cost
        // more CPU per request than the writes' own work (writeH2, node:http2 streams): 10,000
        // namespaces took 1.31-1.66x a bare HTTP/1.1 client's time, against 1.18x over HTTP/1.1.
        // (Through a counting TCP proxy at 1,000 namespaces HTTP/2 came out ahead, 2.3-2.6 s against
        // 3.1-3.3 s: the proxy's own cost per connection; the direct run is the one users get.)
        allowH2: false,
        keepAliveTimeout: IDLE_KEEP_MS,
        keepAliveMaxTimeout: IDLE_KEEP_MS,
        connect: { ...tls, keepAlive: true, keepAliveInitialDelay: 30_000 },
      });
      this.pools.set(key, pool);
      if (this.pools.size > MAX_IDENTITIES) this.drop(this.pools.keys().next().value!);
    }
    return pool;
  }

  private drop(key: string): void {
    void this.pools.get(key)?.destroy();
    this.pools.delete(key);
  }

  /** Closes every pooled connection (shutdown, end of a one-shot command). */
  closeConnections(): void {
    for (const key of [...this.pools.keys()]) this.drop(key);
  }
}
