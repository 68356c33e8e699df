/**
 * The floor for comparison: express over node:https with the same certificate, TLS options and
 * keep-alive settings as the webhook, parsing the same JSON body and answering a fixed review.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import express from "express";
import { TLS_OPTIONS } from "../../src/tls/cert-watcher.js";
import { serveRpc } from "../lib/rpc.js";

const PATCH = [{ op: "add", path: "/spec/imagePullSecrets", value: [{ name: "ecr-pull-secret" }] }];
const FIXED = {
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  response: {
    uid: "00000000-0000-0000-0000-000000000000",
    allowed: true,
    patchType: "JSONPatch",
    patch: Buffer.from(JSON.stringify(PATCH)).toString("base64"),
  },
};

let server: Server | undefined;

serveRpc(
  {
    async start({ certFile, keyFile }: { certFile: string; keyFile: string }) {
      const app = express();
      app.disable("x-powered-by");
      app.disable("etag");
      app.post("/mutate", express.json({ limit: 3 * 1024 * 1024, strict: false }), (_req, res) => {
        res.json(FIXED);
      });
      server = createServer(
        { cert: readFileSync(certFile), key: readFileSync(keyFile), ...TLS_OPTIONS },
        app,
      );
      server.keepAliveTimeout = 120_000;
      await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
      return (server.address() as AddressInfo).port;
    },
  },
  async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  },
);
