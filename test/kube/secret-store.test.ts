import { afterEach, describe, expect, it } from "vitest";
import { watchPullSecrets } from "../../src/kube/pull-secret-watch.js";
import { kubeSecretStore } from "../../src/kube/secret-store.js";
import { silentLogger } from "../../src/log/logger.js";
import { startKubeApi, type KubeApiStandIn } from "../support/kube-api/index.js";
import { managedSecret } from "../support/managed-secret.js";

const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
let kube: KubeApiStandIn | undefined;
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

describe("the pull Secrets when there are none yet", () => {
  // A metadata-only list with no items comes back as `"items": null` from the real API server.
  it("listNamed yields one empty page", async () => {
    kube = await startKubeApi();
    kube.addNamespace("team-a");
    const pages = [];
    for await (const page of kubeSecretStore(kube.kubeConfig()).listNamed("ecr-pull-secret"))
      pages.push(page);
    expect(pages).toEqual([[]]);
  });

  it("the watch starts, knows nothing, then sees the first Secret written", async () => {
    kube = await startKubeApi();
    kube.addNamespace("team-a");
    const watch = watchPullSecrets(kube.kubeConfig(), "ecr-pull-secret", silentLogger());
    await watch.start();
    expect(watch.get("team-a")).toBeUndefined();
    kube.put(
      "secrets",
      "team-a",
      managedSecret("team-a", { [REGISTRY]: "pw" }, new Date(Date.now() + 3_600_000)),
    );
    await expect.poll(() => watch.get("team-a")?.name).toBe("ecr-pull-secret");
    await watch.stop();
  });
});
