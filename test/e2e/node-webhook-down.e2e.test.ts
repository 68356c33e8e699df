/**
 * No webhook replica answers (failurePolicy Ignore): pods are admitted untouched. What still gets
 * them their credentials is the reference on their ServiceAccount; with --patch-service-accounts=false
 * nothing does, the pull is refused, and `ecr-webhook doctor` names the pod. On a 1.35+ kubelet
 * (KEP-2535) an image already on the node does not help such a pod either.
 */
import { expect, it } from "vitest";
import { ENABLED } from "./support/cluster.js";
import { environment } from "./support/environment.js";
import { atLeast } from "./support/node/discovery.js";
import {
  allRunning,
  describeNode,
  imageAt,
  nodePod,
  nodeState,
  podEvents,
  pullFailed,
  waitForPod,
} from "./support/node/pods.js";
import { useRegistryFront } from "./support/node/use-registry-front.js";
import { WEBHOOK_NAMESPACE } from "./support/install.js";
import { ACCOUNT, pullSecretNames, REGISTRY, SECRET, useSuite, type Suite } from "./support/suite.js";
import { runCli } from "../support/webhook-process.js";

const POLICY_FLAGS = [`--default-account=${ACCOUNT}`, "--default-region=us-east-1"];

/** Whether this kubelet re-checks credentials for images already on the node (KEP-2535). */
function ensuresSecretPulledImages(): boolean {
  const node = nodeState()!;
  return atLeast(node.kubeletVersion, 1, 35) && node.featureGates.KubeletEnsureSecretPulledImages !== false;
}

const secretExists = (suite: Suite, namespace: string) =>
  suite.cluster.core.readNamespacedSecret({ namespace, name: SECRET }).then(
    () => true,
    () => false,
  );

describeNode("the webhook down, ServiceAccounts patched: pods still pull", () => {
  const suite = useSuite({ serveArgs: POLICY_FLAGS });
  const front = useRegistryFront(suite, [REGISTRY]);

  it("a pod created while no replica answers gets the ServiceAccount's reference and runs", async () => {
    const core = suite.cluster.core;
    const namespace = await suite.namespace("down-sa", { labels: { ...ENABLED } });
    await expect
      .poll(
        async () =>
          (await core.readNamespacedServiceAccount({ namespace, name: "default" })).imagePullSecrets?.map(
            (r) => r.name,
          ),
        {
          timeout: 30_000,
        },
      )
      .toEqual([SECRET]);
    await expect.poll(() => secretExists(suite, namespace), { timeout: 30_000 }).toBe(true);
    await suite.serve!.stop();

    const path = `${namespace}/app`;
    const created = await core.createNamespacedPod({
      namespace,
      body: nodePod("app", [imageAt(REGISTRY, path)]),
    });
    expect(pullSecretNames(created)).toEqual([SECRET]);
    await waitForPod(core, namespace, "app", allRunning);
    expect(
      front()
        .of(path)
        .some((r) => r.outcome === "accepted"),
    ).toBe(true);
  });
});

describeNode(
  "the webhook down with --patch-service-accounts=false: the pull fails and doctor says so",
  () => {
    const suite = useSuite({ serveArgs: ["--patch-service-accounts=false", ...POLICY_FLAGS] });
    const front = useRegistryFront(suite, [REGISTRY]);

    it("a pod admitted without the reference is refused, even for an image already on the node", async () => {
      const core = suite.cluster.core;
      const namespace = await suite.namespace("down-nosa", { labels: { ...ENABLED } });
      const path = `${namespace}/app`;
      // While the webhook answers: the image comes onto the node with the namespace's Secret.
      await core.createNamespacedPod({ namespace, body: nodePod("before", [imageAt(REGISTRY, path)]) });
      await waitForPod(core, namespace, "before", allRunning);
      await suite.serve!.stop();

      const seen = front().of(path).length;
      const created = await core.createNamespacedPod({
        namespace,
        body: nodePod("during", [imageAt(REGISTRY, path)], { pullPolicy: "IfNotPresent" }),
      });
      expect(pullSecretNames(created)).toEqual([]);
      if (ensuresSecretPulledImages()) {
        // KEP-2535: the kubelet must check this pod may pull the image, and it has no credential.
        await waitForPod(core, namespace, "during", pullFailed);
        const attempts = front().of(path).slice(seen);
        expect(attempts.length).toBeGreaterThan(0);
        expect(attempts.every((r) => r.outcome === "challenged")).toBe(true);
      } else {
        // An older kubelet starts it from the node's copy without asking.
        await waitForPod(core, namespace, "during", allRunning);
        expect((await podEvents(core, namespace, "during")).join("\n")).toMatch(/already present on machine/);
      }

      // A pod whose image is not on the node fails on every kubelet.
      const freshPath = `${namespace}/fresh`;
      await core.createNamespacedPod({ namespace, body: nodePod("fresh", [imageAt(REGISTRY, freshPath)]) });
      await waitForPod(core, namespace, "fresh", pullFailed);
      expect(
        front()
          .of(freshPath)
          .every((r) => r.outcome === "challenged"),
      ).toBe(true);

      const doctor = await runCli(
        ["doctor", `--namespace=${WEBHOOK_NAMESPACE}`, "--patch-service-accounts=false", ...POLICY_FLAGS],
        { kubeconfig: environment().adminKubeconfig!, aws: suite.aws },
      );
      const line = doctor.stdout
        .split("\n")
        .find((l) => l.startsWith("✗") && l.includes(`no ${SECRET} reference`));
      expect(line, doctor.stdout).toBeDefined();
      expect(line).toContain(`${namespace}/fresh`);
      expect(line).toContain(`${namespace}/during`);
      expect(line).not.toContain(`${namespace}/before`);
      expect(doctor.code).toBe(1);
    });
  },
);
