/**
 * The artifact the image ships: dist/ecr-webhook.mjs, built by the package's own bundle script and
 * run with the Dockerfile's Node flags. The rest of the suite runs the TypeScript sources; this
 * proves the bundle (every lazily loaded command and SDK piece included) does the same job.
 */
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAwsStandIn, type AwsStandIn } from "../support/aws/index.js";
import { loadReview } from "../support/fixtures.js";
import { dockerConfigOf, ENABLED } from "../support/harness.js";
import { httpsRequest, decodePatch } from "../support/https-client.js";
import { startKubeApi, type KubeApiStandIn } from "../support/kube-api/index.js";
import { writeLocalBundle } from "../support/webhook.js";
import { runCli, startServe, type ServeProcess } from "../support/webhook-process.js";

const run = promisify(execFile);
const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

beforeAll(async () => {
  await run("npm", ["run", "--silent", "bundle"], { timeout: 60_000 });
}, 90_000);

describe("the shipped bundle", () => {
  it("explains the example pod with no cluster and no AWS", async () => {
    const { stdout } = await runCli(["explain", "-f", "examples/pod.yaml", "-o", "json"]);
    const [result] = JSON.parse(stdout);
    expect(result.action).toBe("inject");
    expect(result.patch).toEqual([
      { op: "add", path: "/spec/imagePullSecrets", value: [{ name: "ecr-pull-secret" }] },
    ]);
  });

  describe("serve against the stand-ins", () => {
    let kube: KubeApiStandIn;
    let aws: AwsStandIn;
    let serve: ServeProcess | undefined;

    afterAll(async () => {
      await serve?.kill();
      await kube?.close();
      await aws?.close();
    });

    it("creates the Secret, patches the pod, logs no credential, and exits 0 on SIGTERM", async () => {
      kube = await startKubeApi();
      aws = await startAwsStandIn();
      kube.addNamespace("team-a", { labels: ENABLED });
      const dir = await mkdtemp(join(tmpdir(), "ecr-webhook-bundle-"));
      const tls = await writeLocalBundle(dir);
      await writeFile(join(dir, "kubeconfig"), kube.kubeConfig().exportConfig());
      serve = await startServe({
        kubeconfig: join(dir, "kubeconfig"),
        aws,
        tls,
        args: ["--log-level=debug"],
      });
      const { port } = serve;

      await expect.poll(() => serve!.readyz(), { timeout: 15_000, interval: 100 }).toBe(200);

      const review = loadReview("pod-create-ecr.json");
      review.request.namespace = "team-a";
      const res = await httpsRequest({ port, ca: tls.ca, body: JSON.stringify(review) });
      expect(res.status).toBe(200);
      expect(res.json().response.warnings).toBeUndefined();
      expect(decodePatch(res.json())).toEqual([
        { op: "add", path: "/spec/imagePullSecrets", value: [{ name: "ecr-pull-secret" }] },
      ]);
      const secret = kube.get("secrets", "team-a", "ecr-pull-secret") as any;
      expect(secret.type).toBe("kubernetes.io/dockerconfigjson");
      expect(dockerConfigOf(secret).auths[REGISTRY]!.password).toBe(aws.tokens[0]!.password);

      expect((await serve.stop()).code).toBe(0);
      const logs = serve.stdout() + serve.stderr();
      expect(logs).toContain('"msg":"ecr-webhook serving"');
      for (const token of aws.tokens) {
        expect(logs).not.toContain(token.password);
        expect(logs).not.toContain(Buffer.from(`AWS:${token.password}`).toString("base64"));
      }
      expect(logs).not.toContain(secret.data[".dockerconfigjson"]);
    }, 30_000);
  });
});
