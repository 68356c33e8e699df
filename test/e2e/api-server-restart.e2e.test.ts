/**
 * The API server restarted under a running webhook: its watch, its Lease and its clients come back
 * without a restart of their own.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { expect, it } from "vitest";
import { ENABLED } from "./support/cluster.js";
import {
  ACCOUNT,
  describeE2e,
  dockerConfigOf,
  podBody,
  pullSecretNames,
  REGISTRY,
  SECRET,
  useSuite,
} from "./support/suite.js";

describeE2e("the API server restarted while the webhook runs", () => {
  const suite = useSuite({ serveArgs: [`--default-account=${ACCOUNT}`, "--default-region=us-east-1"] });

  it("a namespace labelled afterwards is served, opt-in included, and the Lease is renewed", async (context) => {
    if (!suite.cluster.canRestart) context.skip();
    await expect.poll(() => suite.serve!.logged("became leader").length, { timeout: 40_000 }).toBe(1);
    const namespace = await suite.namespace("after-restart");
    await suite.cluster.core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: "builder" } },
    });

    const restartedAt = Date.now();
    await suite.cluster.restartApiServer();
    // A client from before the restart would fail on its dead keep-alive connections: use a new one.
    const core = suite.cluster.kc.makeApiClient(CoreV1Api);
    await suite.cluster.labelNamespace(namespace, { ...ENABLED });

    const pod = await core.createNamespacedPod({ namespace, body: podBody("app", [`${REGISTRY}/app:1`]) });
    expect(pullSecretNames(pod)).toContain(SECRET);
    const secret = await core.readNamespacedSecret({ namespace, name: SECRET });
    expect(dockerConfigOf(secret)[REGISTRY]).toBeDefined();
    // The reconciler saw the label through a watch that had to be re-established.
    await expect
      .poll(
        async () =>
          (await core.readNamespacedServiceAccount({ namespace, name: "builder" })).imagePullSecrets?.map(
            (r) => r.name,
          ),
        { timeout: 40_000 },
      )
      .toEqual([SECRET]);
    await expect
      .poll(
        async () => {
          const lease = await suite.cluster.coordination.readNamespacedLease({
            namespace: "ecr-webhook",
            name: "ecr-webhook-leader",
          });
          return new Date(String(lease.spec?.renewTime)).getTime();
        },
        { timeout: 20_000 },
      )
      .toBeGreaterThan(restartedAt);
    await expect.poll(() => suite.serve!.metric("ecr_webhook_leader"), { timeout: 40_000 }).toBe(1);
  });
});
