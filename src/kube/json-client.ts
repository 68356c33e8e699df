import http from "node:http";
import https from "node:https";
import { ApiException, type KubeConfig } from "@kubernetes/client-node";
import { API_TIMEOUT_MS } from "./request-options.js";

/**
 * Plain JSON requests to the API server, for the calls made once per namespace per cycle (the pull
 * Secret's GET and PUT). It applies everything the kubeconfig says (server, CA, client certificate,
 * credentials, through the pooled agent) exactly as the generated clients do, and fails with the same
 * ApiException (HTTP code and Status body), so callers read failures through apiFailure() either way.
 * What it leaves out is the generated clients' per-request machinery (typed model conversion both
 * ways, the middleware chain, node-fetch): measured on a real API server, that was more than half of
 * a rotation cycle's CPU.
 */
export interface JsonClient {
  request<T>(
    method: string,
    path: string,
    body?: unknown,
    options?: { timeoutMs?: number; accept?: string },
  ): Promise<T>;
}

/**
 * How long the connection settings and credentials the kubeconfig yields are reused: client-go
 * re-reads a token file once a minute; a rejected credential (401) is dropped at once.
 */
const SETTINGS_TTL_MS = 10_000;

export function jsonClient(kc: KubeConfig): JsonClient {
  let cached: { at: number; opts: https.RequestOptions } | undefined;
  const settings = async (): Promise<https.RequestOptions> => {
    if (cached && Date.now() - cached.at < SETTINGS_TTL_MS) return cached.opts;
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    cached = { at: Date.now(), opts };
    return opts;
  };
  return {
    async request<T>(
      method: string,
      path: string,
      body?: unknown,
      options: { timeoutMs?: number; accept?: string } = {},
    ) {
      const server = kc.getCurrentCluster()?.server;
      if (!server) throw new Error("the kubeconfig has no current cluster");
      const opts = await settings();
      const text = body === undefined ? undefined : JSON.stringify(body);
      const url = new URL(path, server);
      const send = url.protocol === "http:" ? http.request : https.request;
      return new Promise<T>((resolve, reject) => {
        const req = send(
          url,
          {
            ...opts,
            method,
            signal: AbortSignal.timeout(options.timeoutMs ?? API_TIMEOUT_MS),
            headers: {
              ...(opts.headers as Record<string, string> | undefined),
              accept: options.accept ?? "application/json",
              ...(text === undefined
                ? {}
                : { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) }),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("error", reject);
            res.on("end", () => {
              const raw = Buffer.concat(chunks).toString("utf8");
              const status = res.statusCode ?? 0;
              if (status >= 200 && status < 300) {
                resolve((raw ? JSON.parse(raw) : undefined) as T);
                return;
              }
              const headers = Object.fromEntries(
                Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]),
              );
              if (status === 401) cached = undefined;
              reject(new ApiException(status, `HTTP-Code: ${status}`, raw, headers));
            });
          },
        );
        req.on("error", reject);
        req.end(text);
      });
    },
  };
}
