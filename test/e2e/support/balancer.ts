/**
 * A readiness-aware TCP balancer, as a Service with kube-proxy behaves for the API server: new
 * connections go only to backends whose /readyz answered 200 at the last check (every 100 ms, the
 * endpoints' propagation delay); established connections stay with their backend until one side
 * closes. TLS passes through untouched.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { Agent, request } from "node:https";
import type { AddressInfo } from "node:net";

export interface Balancer {
  readonly port: number;
  /** Connections accepted so far, and how many found no ready backend. */
  readonly stats: { accepted: number; noBackend: number };
  close(): Promise<void>;
}

function ready(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `https://127.0.0.1:${port}/readyz`,
      { ca, servername: "localhost", agent: new Agent({ keepAlive: false }), timeout: 500 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      },
    );
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

export async function startBalancer(
  backends: readonly number[],
  ca: string,
  checkEveryMs = 100,
): Promise<Balancer> {
  let healthy: number[] = [];
  let next = 0;
  const stats = { accepted: 0, noBackend: 0 };
  const sockets = new Set<Socket>();
  let checking = true;
  const check = async () => {
    while (checking) {
      const states = await Promise.all(backends.map((port) => ready(port, ca)));
      healthy = backends.filter((_, i) => states[i]);
      await new Promise((r) => setTimeout(r, checkEveryMs));
    }
  };
  const checker = check();
  const server: Server = createServer((client) => {
    stats.accepted++;
    const port = healthy.length > 0 ? healthy[next++ % healthy.length] : undefined;
    if (port === undefined) {
      stats.noBackend++;
      client.destroy();
      return;
    }
    const upstream = connect(port, "127.0.0.1");
    // A clean close (FIN) is passed on through the pipes, after every byte; a reset or an error
    // ends the other side at once, as the API server would see it without a balancer.
    const pair: [Socket, Socket][] = [
      [client, upstream],
      [upstream, client],
    ];
    for (const [socket, peer] of pair) {
      sockets.add(socket);
      socket.on("error", () => peer.destroy());
      socket.on("close", (hadError) => {
        sockets.delete(socket);
        if (hadError) peer.destroy();
      });
      socket.pipe(peer);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stats,
    async close() {
      checking = false;
      await checker;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
