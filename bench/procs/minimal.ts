/**
 * The least a webhook can be, for the real-API-server comparison: node:https, the same certificate
 * and TLS options, parse the review, answer `allowed` for its uid, no patch: what ecr-webhook answers
 * on the warm path, where the pod already carries the reference (the namespace's ServiceAccount
 * does). What the API server adds for calling it is what any webhook costs; what ecr-webhook adds
 * beyond it is its own. A probe pod (annotated PROBE_ANNOTATION) is patched as ecr-webhook would, so
 * that the bench can tell when the API server has started or stopped calling it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { TLS_OPTIONS } from "../../src/tls/cert-watcher.js";
import { PROBE_ANNOTATION } from "../lib/reviews.js";
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
              request: { uid: string; object?: { metadata?: { annotations?: Record<string, string> } } };
            };
            const probe = review.request.object?.metadata?.annotations?.[PROBE_ANNOTATION] !== undefined;
            const body = JSON.stringify({
              apiVersion: review.apiVersion,
              kind: "AdmissionReview",
              response: probe
                ? { uid: review.request.uid, allowed: true, patchType: "JSONPatch", patch: PATCH }
                : { uid: review.request.uid, allowed: true },
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
