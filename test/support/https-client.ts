import { request, type Agent } from "node:https";

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/** A real HTTPS request to a loopback server, trusting only the given CA. */
export function httpsRequest(options: {
  port: number;
  ca: string | Buffer;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: Agent | false;
  minVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** Fails the request when the socket has been idle this long. */
  timeoutMs?: number;
}): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        servername: "localhost",
        port: options.port,
        path: options.path ?? "/mutate?timeout=5s",
        method: options.method ?? "POST",
        ca: options.ca,
        agent: options.agent ?? false,
        minVersion: options.minVersion,
        maxVersion: options.maxVersion,
        headers: { "content-type": "application/json", ...options.headers },
        timeout: options.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.end(options.body);
  });
}

/** The Certificate the server presented, to tell which pair is in service. */
export function decodePatch(response: any): any[] | undefined {
  const patch = response.response?.patch;
  return patch ? JSON.parse(Buffer.from(patch, "base64").toString("utf8")) : undefined;
}
