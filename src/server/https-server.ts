import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import type { Logger } from "../log/logger.js";
import { TLS_OPTIONS, type LoadedPair } from "../tls/cert-watcher.js";

/** The API server reuses idle connections for up to 90 s; closing them sooner costs a TLS handshake. */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
/** Slow clients (headers or body trickled) are cut off after these, so they cannot hold sockets. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 15_000;
export const HANDSHAKE_TIMEOUT_MS = 10_000;
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** Inactivity of any socket, past the keep-alive timeout so that it never cuts an idle API server connection first. */
export const IDLE_SOCKET_TIMEOUT_MS = KEEP_ALIVE_TIMEOUT_MS + 10_000;

export interface WebhookServer {
  readonly server: Server;
  readonly port: number;
  /** Swaps the serving certificate for new connections; established ones keep theirs. */
  setCertificate(pair: Pick<LoadedPair, "cert" | "key">): void;
  /**
   * Stops accepting, closes the connections that are idle now (during the drain before it, every
   * response carried `Connection: close`, so no client is about to reuse them), lets in-flight
   * requests finish (up to graceMs), then exits.
   */
  close(graceMs?: number): Promise<void>;
}

export async function listenHttps(
  app: Express,
  pair: Pick<LoadedPair, "cert" | "key">,
  options: { port: number; host?: string; logger: Logger },
): Promise<WebhookServer> {
  const server = createServer(
    {
      cert: pair.cert,
      key: pair.key,
      ...TLS_OPTIONS,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // Node checks the header and request timeouts only this often (default 30 s).
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    app,
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  // A connection that completes the handshake and never sends a byte is covered by none of the above.
  server.timeout = IDLE_SOCKET_TIMEOUT_MS;
  server.on("tlsClientError", (error) =>
    options.logger.debug({ err: error.message }, "TLS handshake failed"),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    setCertificate: (next) => server.setSecureContext({ cert: next.cert, key: next.key, ...TLS_OPTIONS }),
    close: (graceMs = 25_000) => closeGracefully(server, graceMs),
  };
}

async function closeGracefully(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Idle keep-alive sockets would hold close() open until their timeout. Busy ones are not swept:
  // their responses carry `Connection: close` and end them once answered.
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), graceMs);
  try {
    await closed;
  } finally {
    clearTimeout(force);
  }
}
