/**
 * kubectl needs API discovery (/version, /api, /apis, /api/v1) and a bearer token only over TLS; the
 * Kubernetes stand-in serves neither. This HTTPS front answers the discovery documents a real API
 * server would for the two resources the scripts touch, and passes every other request unchanged to
 * the stand-in, so each Secret GET/POST/PATCH kubectl makes is served and counted by the stand-in.
 */
import { request as httpRequest } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";

const resource = (name: string, kind: string, namespaced: boolean, verbs: string[]) => ({
  name,
  singularName: kind.toLowerCase(),
  namespaced,
  kind,
  verbs,
});

function discovery(host: string): Record<string, unknown> {
  return {
    "/version": { major: "1", minor: "32", gitVersion: "v1.32.0", platform: "linux/amd64" },
    "/api": {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: host }],
    },
    "/apis": { kind: "APIGroupList", apiVersion: "v1", groups: [] },
    "/api/v1": {
      kind: "APIResourceList",
      groupVersion: "v1",
      resources: [
        resource("namespaces", "Namespace", false, [
          "create",
          "delete",
          "get",
          "list",
          "patch",
          "update",
          "watch",
        ]),
        resource("secrets", "Secret", true, ["create", "delete", "get", "patch", "update"]),
      ],
    },
  };
}

export interface DiscoveryProxy {
  readonly url: string;
  close(): Promise<void>;
}

export async function startDiscoveryProxy(
  upstream: string,
  tls: { cert: string; key: string },
): Promise<DiscoveryProxy> {
  const target = new URL(upstream);
  const docs = discovery(target.host);
  const server: Server = createServer(tls, (req, res) => {
    const doc = req.method === "GET" ? docs[(req.url ?? "/").split("?")[0]!] : undefined;
    if (doc) {
      const text = JSON.stringify(doc);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      return void res.end(text);
    }
    const forward = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
