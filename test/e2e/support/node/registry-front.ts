/**
 * Amazon ECR as the node sees it: a TLS front on loopback for each `<account>.dkr.ecr.<region>…`
 * host (and public.ecr.aws), which containerd reaches through its `certs.d/<host>/hosts.toml`. Like
 * ECR it answers 401 with a Basic challenge and demands `AWS:<token>`; it accepts a token only if the
 * AWS stand-in issued it for that host's region (ECR Public's for public.ecr.aws) and it is not
 * expired by the stand-in's word. Then it passes the request to the docker-registry behind it.
 *
 * Its log says which token each request carried as "token #n" (the stand-in's n-th issued token)
 * or, for a password the stand-in never issued, a short hash: never the password itself.
 */
import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { issueServingBundle } from "../../../../src/tls/issue.js";
import type { AwsStandIn, IssuedEcrToken } from "../../../support/aws/index.js";
import { BACKEND_REPOSITORY } from "./node.js";

export const ECR_PUBLIC_HOST = "public.ecr.aws";

export type Outcome = "accepted" | "refused" | "challenged";

export interface FrontRecord {
  readonly at: number;
  readonly host: string;
  readonly method: string;
  /** The repository as the node asked for it, e.g. `rotation-x1/app`. */
  readonly repository: string;
  /** `manifests/1`, `blobs/sha256:…`, or `` for the /v2/ ping. */
  readonly what: string;
  readonly outcome: Outcome;
  /** 1-based position in the stand-in's issued tokens. */
  readonly token?: number;
  /** sha256 prefix of a password the stand-in never issued. */
  readonly fingerprint?: string;
  readonly reason?: string;
}

export interface RegistryFront {
  readonly hosts: readonly string[];
  readonly log: readonly FrontRecord[];
  /** Requests for the repositories under `path` (after the host), manifests only unless `all`. */
  of(path: string, options?: { all?: boolean }): FrontRecord[];
  /** While on, every token is refused as if ECR no longer took it. */
  refuseAll(on: boolean): void;
  /** The front's own verdict on a password for `host`, as a pull would get it (nothing logged). */
  verdict(host: string, password: string): Pick<FrontRecord, "outcome" | "token" | "reason">;
  close(): Promise<void>;
}

const tokenNumber = (aws: AwsStandIn, token: IssuedEcrToken) => aws.tokens.indexOf(token) + 1;
export const fingerprint = (password: string) =>
  createHash("sha256").update(password).digest("hex").slice(0, 12);

function regionOf(host: string): string | undefined {
  return /^\d{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host)?.[1];
}

/** `/v2/<repository>/(manifests|blobs|tags)/<rest>` → its parts; `/v2/` → the ping. */
function parsePath(path: string): { repository: string; kind: string; rest: string } | undefined {
  const match = /^\/v2\/(.+)\/(manifests|blobs|tags)\/(.+)$/.exec(path);
  return match ? { repository: match[1]!, kind: match[2]!, rest: match[3]! } : undefined;
}

export async function startRegistryFront(options: {
  aws: AwsStandIn;
  hosts: readonly string[];
  /** docker-registry's URL. */
  backend: string;
  /** containerd's config_path. */
  certsDir: string;
  now?: () => number;
}): Promise<RegistryFront> {
  const now = options.now ?? Date.now;
  const bundle = await issueServingBundle({
    dnsNames: ["localhost", ...options.hosts],
    ipAddresses: ["127.0.0.1"],
    validityDays: 7,
    now: new Date(),
    caCommonName: "e2e-registry-front-ca",
  });
  const log: FrontRecord[] = [];
  let refusing = false;

  const verdict = (
    host: string,
    password: string | undefined,
  ): Omit<FrontRecord, "at" | "host" | "method" | "repository" | "what"> => {
    if (password === undefined) return { outcome: "challenged", reason: "no credentials" };
    const token = options.aws.tokens.find((t) => t.password === password);
    if (!token)
      return { outcome: "refused", fingerprint: fingerprint(password), reason: "not a token ECR issued" };
    const number = tokenNumber(options.aws, token);
    const fits =
      host === ECR_PUBLIC_HOST ? token.public === true : !token.public && token.region === regionOf(host);
    if (!fits)
      return {
        outcome: "refused",
        token: number,
        reason: `a token for ${token.public ? "ECR Public" : token.region}`,
      };
    if (now() >= token.expiresAt) return { outcome: "refused", token: number, reason: "expired" };
    if (refusing) return { outcome: "refused", token: number, reason: "refused by the registry" };
    return { outcome: "accepted", token: number };
  };

  const passwordOf = (req: IncomingMessage): string | undefined => {
    const header = req.headers.authorization ?? "";
    if (!header.startsWith("Basic ")) return undefined;
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    // ECR's user is always AWS; anything else is not its login.
    return colon >= 0 && decoded.slice(0, colon) === "AWS" ? decoded.slice(colon + 1) : "";
  };

  const forward = (req: IncomingMessage, res: ServerResponse, path: string) => {
    const target = new URL(path, options.backend);
    const headers = { ...req.headers, host: target.host };
    delete headers.authorization;
    const upstream = httpRequest(target, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  };

  const handler = (host: string) => (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "https://front");
    const parts = parsePath(url.pathname);
    const decision = verdict(host, passwordOf(req));
    log.push({
      at: now(),
      host,
      method: req.method ?? "",
      repository: parts?.repository ?? "",
      what: parts ? `${parts.kind}/${parts.rest}` : "",
      ...decision,
    });
    if (decision.outcome !== "accepted") {
      req.resume();
      res.writeHead(401, {
        "content-type": "application/json",
        "www-authenticate": `Basic realm="https://${host}/",service="ecr.amazonaws.com"`,
        "docker-distribution-api-version": "registry/2.0",
      });
      res.end(JSON.stringify({ errors: [{ code: "DENIED", message: "Not Authorized" }] }));
      return;
    }
    // Every repository is the one the registry holds: a test names its own path, so its pulls are its own.
    const path = parts
      ? `/v2/${BACKEND_REPOSITORY}/${parts.kind}/${parts.rest}${url.search}`
      : `/v2/${url.search}`;
    forward(req, res, path);
  };

  const servers: Server[] = [];
  const files: string[] = [];
  const caFile = join(options.certsDir, `front-ca-${process.pid}.crt`);
  await mkdir(options.certsDir, { recursive: true });
  await writeFile(caFile, bundle.ca.cert);
  for (const host of options.hosts) {
    const server = createServer({ cert: bundle.serving.cert, key: bundle.serving.key }, handler(host));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    const { port } = server.address() as AddressInfo;
    const dir = join(options.certsDir, host);
    await mkdir(dir, { recursive: true });
    const file = join(dir, "hosts.toml");
    // Read by containerd at every pull: the registry's name is answered here, never looked up
    // (the server line too, or containerd would fall back to the real host). containerd 1.6 wants
    // a [host] table.
    const front = `https://127.0.0.1:${port}`;
    await writeFile(
      file,
      `server = "${front}"\n\n[host."${front}"]\n  capabilities = ["pull", "resolve"]\n  ca = "${caFile}"\n`,
    );
    files.push(file);
  }

  return {
    hosts: options.hosts,
    log,
    of: (path, { all = false } = {}) =>
      log.filter(
        (r) =>
          (r.repository === path || r.repository.startsWith(`${path}/`)) &&
          (all || r.what.startsWith("manifests/")),
      ),
    refuseAll(on) {
      refusing = on;
    },
    verdict(host, password) {
      const { outcome, token, reason } = verdict(host, password);
      return { outcome, ...(token ? { token } : {}), ...(reason ? { reason } : {}) };
    },
    async close() {
      for (const file of files) await rm(file, { force: true });
      await rm(caFile, { force: true });
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}
