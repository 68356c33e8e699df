import { afterEach, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/server/app.js";
import { decodePatch, httpsRequest } from "../support/https-client.js";
import { ADMISSION_FIXTURES, loadReview, loadReviewText } from "../support/fixtures.js";
import { startTestWebhook, type TestWebhook } from "../support/webhook.js";

let webhook: TestWebhook | undefined;
afterEach(async () => {
  await webhook?.close();
  webhook = undefined;
});

async function post(body: string | Buffer, headers: Record<string, string> = {}, path?: string) {
  return httpsRequest({ port: webhook!.port, ca: webhook!.ca, body, headers, path });
}

describe("POST /mutate over HTTPS", () => {
  it.each(ADMISSION_FIXTURES)("answers %s in its own version, echoing the uid", async (fixture) => {
    webhook = await startTestWebhook();
    const review = loadReview(fixture);
    // The exact request line and headers the API server sends.
    const res = await post(loadReviewText(fixture), {
      "accept-encoding": "gzip",
      accept: "application/json, */*",
    });
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body.apiVersion).toBe("admission.k8s.io/v1");
    expect(body.kind).toBe("AdmissionReview");
    expect(body.response.uid).toBe(review.request.uid);
    expect(body.response.allowed).toBe(true);
    if (fixture === "pod-create-no-ecr.json") {
      expect(body.response.patch).toBeUndefined();
      expect(body.response.patchType).toBeUndefined();
    } else {
      expect(body.response.patchType).toBe("JSONPatch");
      expect(decodePatch(body)?.[0]?.op).toBe("add");
    }
  });

  it("answers admission.k8s.io/v1beta1 in v1beta1", async () => {
    webhook = await startTestWebhook();
    const review = loadReview("pod-create-ecr.json");
    review.apiVersion = "admission.k8s.io/v1beta1";
    const res = await post(JSON.stringify(review));
    expect(res.status).toBe(200);
    expect(res.json().apiVersion).toBe("admission.k8s.io/v1beta1");
    expect(decodePatch(res.json())).toEqual([
      { op: "add", path: "/spec/imagePullSecrets", value: [{ name: "ecr-pull-secret" }] },
    ]);
  });

  it("carries warnings for registries outside the allow-list", async () => {
    webhook = await startTestWebhook({ argv: ["--allowed-regions", "eu-west-1"] });
    const res = await post(loadReviewText("pod-create-ecr.json"));
    expect(res.json().response.warnings).toEqual([
      "ecr-webhook: no credentials for 123456789012.dkr.ecr.us-east-1.amazonaws.com: region us-east-1 is not allowed by --allowed-regions",
    ]);
    expect(res.json().response.patch).toBeUndefined();
  });

  const withoutUid = () => {
    const r = loadReview("pod-create-ecr.json");
    delete r.request.uid;
    return JSON.stringify(r);
  };
  const withVersion = (v: string) => {
    const r = loadReview("pod-create-ecr.json");
    r.apiVersion = v;
    return JSON.stringify(r);
  };
  const badInputs: {
    name: string;
    body: string | Buffer;
    headers?: Record<string, string>;
    status: number;
    error: RegExp;
  }[] = [
    { name: "not JSON", body: "{not json", status: 400, error: /not valid JSON/ },
    { name: "a JSON array", body: "[]", status: 400, error: /not a JSON object/ },
    { name: "a JSON string", body: '"x"', status: 400, error: /not a JSON object/ },
    { name: "JSON null", body: "null", status: 400, error: /not a JSON object/ },
    {
      name: "not an AdmissionReview",
      body: '{"kind":"Pod","apiVersion":"v1"}',
      status: 400,
      error: /kind must be "AdmissionReview"/,
    },
    {
      name: "no request",
      body: '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}',
      status: 400,
      error: /request is missing/,
    },
    { name: "no request.uid", body: withoutUid(), status: 400, error: /request.uid is missing/ },
    {
      name: "an unsupported version",
      body: withVersion("admission.k8s.io/v2"),
      status: 400,
      error: /unsupported apiVersion "admission.k8s.io\/v2"/,
    },
    {
      name: "a wrong content type",
      body: "x=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      status: 415,
      error: /content-type/,
    },
    {
      name: "a body over the limit",
      body: Buffer.alloc(MAX_BODY_BYTES + 1, 32),
      status: 413,
      error: /larger than 3145728 bytes/,
    },
  ];
  it.each(badInputs)("rejects $name with a 4xx JSON error", async ({ body, headers, status, error }) => {
    webhook = await startTestWebhook();
    const res = await post(body, headers);
    expect(res.status).toBe(status);
    expect(res.headers["content-type"]).toMatch(/application\/json/);
    expect(res.json().error).toMatch(error);
    expect(res.text).not.toMatch(/at .*\.(js|ts):\d+/);
    // The server is still healthy afterwards.
    expect((await post(loadReviewText("pod-create-ecr.json"))).status).toBe(200);
  });

  it("fails open when the decision throws: admitted unchanged with a warning", async () => {
    webhook = await startTestWebhook({
      namespaces: { get: () => Promise.reject(new Error("cache exploded")) },
    });
    const res = await post(loadReviewText("pod-create-ecr.json"));
    expect(res.status).toBe(200);
    expect(res.json().response).toEqual({
      uid: "bdcadfc1-fa3e-458f-90b1-bf8fb03c818e",
      allowed: true,
      warnings: ["ecr-webhook: internal error, Pod admitted unchanged"],
    });
  });

  it("serves /healthz, /readyz and 404s other paths", async () => {
    webhook = await startTestWebhook();
    const get = (path: string) => httpsRequest({ port: webhook!.port, ca: webhook!.ca, method: "GET", path });
    expect((await get("/healthz")).text).toBe("ok");
    const ready = await get("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ ok: true, checks: { certificate: "ok", namespaceCache: "static" } });
    expect((await get("/nope")).status).toBe(404);
  });

  it("refuses TLS below 1.2", async () => {
    webhook = await startTestWebhook();
    await expect(
      httpsRequest({
        port: webhook.port,
        ca: webhook.ca,
        body: "{}",
        minVersion: "TLSv1",
        maxVersion: "TLSv1.1",
      }),
    ).rejects.toThrow();
  });

  it("exports metrics on the metrics port", async () => {
    webhook = await startTestWebhook();
    await post(loadReviewText("pod-create-ecr.json"));
    await post(loadReviewText("pod-create-no-ecr.json"));
    const text = await (await fetch(`http://127.0.0.1:${webhook.metricsPort}/metrics`)).text();
    expect(text).toMatch(/ecr_webhook_admission_reviews_total\{kind="Pod",outcome="patched"\} 1/);
    expect(text).toMatch(/ecr_webhook_admission_reviews_total\{kind="Pod",outcome="unchanged"\} 1/);
    expect(text).toMatch(/ecr_webhook_patches_total\{kind="Pod"\} 1/);
    expect(text).toMatch(/ecr_webhook_admission_review_duration_seconds_count\{kind="Pod"\} 2/);
  });
});

describe("TLS certificate reload", () => {
  it("serves the new certificate after the files change, without a restart", async () => {
    webhook = await startTestWebhook();
    const oldCa = webhook.ca;
    expect((await post(loadReviewText("pod-create-ecr.json"))).status).toBe(200);
    const next = await webhook.rotateCertificate();
    await expect
      .poll(
        async () =>
          httpsRequest({
            port: webhook!.port,
            ca: next.ca.cert,
            body: loadReviewText("pod-create-ecr.json"),
          }).then(
            (r) => r.status,
            () => 0,
          ),
        { timeout: 5_000, interval: 25 },
      )
      .toBe(200);
    // New connections no longer get the old certificate.
    await expect(httpsRequest({ port: webhook.port, ca: oldCa, body: "{}" })).rejects.toThrow();
  });

  it("keeps the last good pair when the files become unusable", async () => {
    webhook = await startTestWebhook();
    const { writeFile } = await import("node:fs/promises");
    await writeFile(webhook.certFile, "not a certificate");
    const get = () => httpsRequest({ port: webhook!.port, ca: webhook!.ca, method: "GET", path: "/readyz" });
    await expect
      .poll(async () => (await get()).json().checks.certificate, { timeout: 5_000 })
      .toMatch(/serving the previous certificate/);
    expect((await post(loadReviewText("pod-create-ecr.json"))).status).toBe(200);
  });
});

describe("serve without certificate files", () => {
  it("generates a self-signed pair for localhost and writes its CA bundle", async () => {
    const { readFile } = await import("node:fs/promises");
    const { startWebhook } = await import("../../src/commands/serve.js");
    const { inMemoryNamespaces } = await import("../../src/policy/namespace.js");
    const { silentLogger } = await import("../../src/log/logger.js");
    const { createMetrics } = await import("../../src/metrics/metrics.js");
    const { testConfig, enabledNamespace } = await import("../support/fixtures.js");
    const local = await startWebhook({
      config: testConfig(["--port=0", "--metrics-port=0"]),
      logger: silentLogger(),
      namespaces: inMemoryNamespaces([enabledNamespace()]),
      metrics: createMetrics(),
      host: "127.0.0.1",
    });
    try {
      expect(local.caBundlePath).toMatch(/ca\.crt$/);
      const ca = await readFile(local.caBundlePath!, "utf8");
      const res = await httpsRequest({ port: local.port, ca, body: loadReviewText("pod-create-ecr.json") });
      expect(res.status).toBe(200);
    } finally {
      await local.close();
    }
  });
});
