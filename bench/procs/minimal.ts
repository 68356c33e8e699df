/**
 * The least a webhook can be, for the real-API-server comparison: node:https, the same certificate
 * and TLS options, parse the review, answer its uid with the same patch. What the API server adds for
 * calling it is what any webhook costs; what ecr-webhook adds beyond it is its own.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { TLS_OPTIONS } from "../../src/tls/cert-watcher.js";
import { serveRpc } from "../lib/rpc.js";

const PATCH = Buffer.from(
  JSON.stringify([{ op: "add", path: "/spec/imagePullSecrets", value: [{ name: "ecr-pull-secret" }] }]),
).toString("base64");

let server: Server | undefined;

serveRpc(
  {
    /** `recordFile`: the first request (method, URL, headers, body) is written there, as JSON. */
    async start({
      certFile,
      keyFile,
      port,
      recordFile,
    }: {
      certFile: string;
      keyFile: string;
      port: number;
      recordFile?: string;
    }) {
      let recorded = recordFile === undefined;
      server = createServer(
        { cert: readFileSync(certFile), key: readFileSync(keyFile), ...TLS_OPTIONS },
        (req, res) => {
          const chunks: Buffer[] = [];
          req.on("data", (c: Buffer) => chunks.push(c));
          req.on("end", () => {
            if (!recorded) {
              recorded = true;
              const { method, url, headers } = req;
              const body = Buffer.concat(chunks).toString("utf8");
              writeFileSync(recordFile!, JSON.stringify({ method, url, headers, body }));
            }
            const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
              apiVersion: string;
              request: { uid: string };
            };
            const body = JSON.stringify({
              apiVersion: review.apiVersion,
              kind: "AdmissionReview",
              response: { uid: review.request.uid, allowed: true, patchType: "JSONPatch", patch: PATCH },
            });
            res.writeHead(200, {
              "content-type": "application/json",
              "content-length": Buffer.byteLength(body),
            });
            res.end(body);
          });
        },
      );
      server.keepAliveTimeout = 120_000;
      await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
      return port;
    },
  },
  async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  },
);
