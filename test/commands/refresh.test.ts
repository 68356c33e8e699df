import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runRefresh } from "../../src/commands/refresh.js";
import { HOUR, startRotationRig, type RotationRig } from "../support/rotation-rig.js";

const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
let rig: RotationRig | undefined;
const savedKubeconfig = process.env.KUBECONFIG;
afterEach(async () => {
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await rig?.close();
  rig = undefined;
});

/** `refresh` as an operator runs it: KUBECONFIG pointing at the cluster (here, the stand-in). */
async function refresh(argv: string[] = []): Promise<{ code: number; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), "ecr-webhook-refresh-"));
  await writeFile(join(dir, "config"), rig!.kube.kubeConfig().exportConfig());
  process.env.KUBECONFIG = join(dir, "config");
  let output = "";
  const code = await runRefresh(["--log-level=silent", ...argv], (text) => (output += text));
  return { code, output };
}

describe("ecr-webhook refresh", () => {
  it("refreshes stale Secrets and exits 0 when every Secret is fresh", async () => {
    rig = await startRotationRig({ clockStart: Date.now() });
    rig.seedSecret("a", { [EAST]: "old" }, 1);
    rig.seedSecret("b", { [EAST]: "old" }, 11);
    const { code, output } = await refresh();
    expect(code).toBe(0);
    expect(output).toMatch(
      /^✓ 2 enabled namespaces: 1 refreshed, 1 already fresh, 0 without a Secret yet, 0 failed \(1 ECR calls, \d+ ms, oldest token 1\.0h\)$/,
    );
  });

  it("tokens shorter than --min-token-ttl: one ECR call for every namespace, and the summary", async () => {
    rig = await startRotationRig({ clockStart: Date.now(), tokenTtlMs: HOUR });
    // More namespaces than --rotation-concurrency (16): the later ones find the token cached.
    for (let i = 0; i < 40; i++) rig.seedSecret(`ns-${i}`, { [EAST]: "old" }, 1);
    const { code, output } = await refresh();
    expect(code).toBe(0);
    expect(output).toMatch(/^✓ 40 enabled namespaces: 40 refreshed, .* 0 failed \(1 ECR calls, /);
    const again = await refresh();
    expect(again.output).toMatch(
      /^✓ 40 enabled namespaces: 0 refreshed, 40 already fresh, .*\(0 ECR calls, /,
    );
    expect(rig.aws.count({ action: "GetAuthorizationToken" })).toBe(1);
  });

  it("exits non-zero with a line per failed namespace", async () => {
    rig = await startRotationRig({ clockStart: Date.now() });
    rig.seedSecret("a", { [EAST]: "old" }, 1);
    rig.aws.throttleNext("GetAuthorizationToken", 1_000);
    const { code, output } = await refresh(["--aws-call-timeout=1s"]);
    expect(code).toBe(1);
    expect(output.split("\n")[0]).toMatch(
      /^✗ a: ECR GetAuthorizationToken for us-east-1 as default failed: ThrottlingException/,
    );
    expect(output).toMatch(
      /✗ 1 enabled namespaces: 0 refreshed, 0 already fresh, 0 without a Secret yet, 1 failed/,
    );
  });
});
