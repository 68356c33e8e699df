import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A loopback TCP proxy in front of a stand-in, so that a test can make the server behind it look
 * like it restarted: `restart()` closes the listener, destroys every connection in both directions
 * (in-flight requests get a reset, watches a premature close), refuses connections for `downMs`, and
 * listens again on the SAME port. The stand-in behind it keeps its store, exactly as an API server
 * restarting in front of the same etcd would.
 */
export interface TcpProxy {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Connections accepted so far (a reconnect after a restart counts again). */
  accepted(): number;
  /** Sever everything now, stay down for `downMs`, then listen on the same port again. */
  restart(downMs: number): Promise<void>;
  /** How many restarts have completed. */
  restarts(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let restarts = 0;
  let closed = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const newServer = (): Server =>
    createServer((client) => {
      accepted += 1;
      const upstream = connect(targetPort, "127.0.0.1");
      track(client);
      track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const stop = (server: Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });

  let server = newServer();
  const port = await listen(server, 0);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    accepted: () => accepted,
    restarts: () => restarts,
    async restart(downMs) {
      await stop(server);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      if (closed) return;
      server = newServer();
      await listen(server, port);
      restarts += 1;
    },
    async close() {
      closed = true;
      await stop(server);
    },
  };
}
