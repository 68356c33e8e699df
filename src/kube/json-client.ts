import { ApiException, HttpMethod, RequestContext, type KubeConfig } from "@kubernetes/client-node";
import { request, type Dispatcher } from "undici";
import { API_TIMEOUT_MS } from "./request-options.js";

/**
 * Plain JSON requests to the API server, for the calls made once per namespace per cycle (the pull
 * Secret's list and PUT). It applies everything the kubeconfig says (server, CA, client certificate,
 * credentials, the pooled connections) exactly as the generated clients do, and fails with the same
 * ApiException (HTTP code and Status body), so callers read failures through apiFailure() either way.
 * What it leaves out is the generated clients' per-request machinery (typed model conversion both
 * ways, the middleware chain, fetch's Response objects): measured on a real API server, that was
 * most of a rotation cycle's CPU.
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
 * re-reads a token file once a minute; a rejected credential (401) is dropped at once. Without it,
 * every request would read the in-cluster CA file again.
 */
const SETTINGS_TTL_MS = 10_000;

interface Settings {
  readonly headers: Record<string, string>;
  readonly dispatcher: Dispatcher | undefined;
}

export function jsonClient(kc: KubeConfig): JsonClient {
  let cached: { at: number; settings: Settings } | undefined;
  const settingsFor = async (url: string): Promise<Settings> => {
    if (cached && Date.now() - cached.at < SETTINGS_TTL_MS) return cached.settings;
    const context = new RequestContext(url, HttpMethod.GET);
    await kc.applySecurityAuthentication(context);
    const settings = { headers: context.getHeaders(), dispatcher: context.getDispatcher() };
    cached = { at: Date.now(), settings };
    return settings;
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
      const url = new URL(path, server).toString();
      const { headers, dispatcher } = await settingsFor(url);
      const text = body === undefined ? undefined : JSON.stringify(body);
      const res = await request(url, {
        method,
        dispatcher,
        signal: AbortSignal.timeout(options.timeoutMs ?? API_TIMEOUT_MS),
        headers: {
          ...headers,
          accept: options.accept ?? "application/json",
          ...(text === undefined ? {} : { "content-type": "application/json" }),
        },
        body: text,
      });
      const raw = await res.body.text();
      // undici checks an idle connection for a pending close one macrotask before reusing it; a
      // worker that sent its next request at once would find every connection busy and make its pool
      // open one more. Yielding first keeps a rotation at one connection per worker.
      await new Promise((resolve) => setImmediate(resolve));
      const status = res.statusCode;
      if (status >= 200 && status < 300) return (raw ? JSON.parse(raw) : undefined) as T;
      if (status === 401) cached = undefined;
      const responseHeaders = Object.fromEntries(
        Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]),
      );
      throw new ApiException(status, `HTTP-Code: ${status}`, raw, responseHeaders);
    },
  };
}
