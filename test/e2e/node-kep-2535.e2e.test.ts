/**
 * KEP-2535 (kubelet ≥ 1.35, KubeletEnsureSecretPulledImages on by default): an image on the node is
 * only handed to a pod that could have pulled it. The kubelet remembers which Secret (namespace, name,
 * UID, credential hash) pulled each image; a pod whose Secret matches by coordinates or by hash starts
 * without asking the registry, any other pod must pull. The webhook rotates a Secret in place (same
 * name and UID), so the record keeps matching; a Secret deleted and recreated would not.
 */
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { expect, it } from "vitest";
import { buildSecret } from "../../src/secrets/pull-secret.js";
import { ENABLED } from "./support/cluster.js";
import {
  allRunning,
  describeNode,
  imageAt,
  nodePod,
  podEvents,
  pullFailed,
  waitForPod,
} from "./support/node/pods.js";
import { useRegistryFront } from "./support/node/use-registry-front.js";
import { ACCOUNT, dockerConfigOf, REGISTRY, SECRET, useSuite } from "./support/suite.js";

const TOKEN_TTL_MS = 30_000;
const REUSED = /already present on machine and can be accessed by the pod/;

describeNode(
  "KEP-2535 on a real node: images already pulled, and who may start them",
  () => {
    const suite = useSuite({
      serveArgs: [
        `--default-account=${ACCOUNT}`,
        "--default-region=us-east-1",
        "--leader-elect=false",
        "--rotation-interval=2s",
      ],
      aws: { tokenTtlMs: TOKEN_TTL_MS },
    });
    const front = useRegistryFront(suite, [REGISTRY]);
    const core = () => suite.cluster.core;
    const readSecret = (namespace: string) => core().readNamespacedSecret({ namespace, name: SECRET });
    const ifNotPresent = (name: string, image: string) =>
      nodePod(name, [image], { pullPolicy: "IfNotPresent" });

    it("opted in: starts with no new credential, also after rotation in place; not opted in: must pull, refused", async () => {
      const optedIn = await suite.namespace("kep-in", { labels: { ...ENABLED } });
      const plain = await suite.namespace("kep-out");
      const path = `${optedIn}/app`;
      const image = imageAt(REGISTRY, path);
      await core().createNamespacedPod({ namespace: optedIn, body: ifNotPresent("first", image) });
      await waitForPod(core(), optedIn, "first", allRunning);
      expect(
        front()
          .of(path)
          .some((r) => r.outcome === "accepted"),
      ).toBe(true);

      // From here the registry takes no token at all: only the node's copy can start a pod.
      front().refuseAll(true);
      const seen = front().of(path, { all: true }).length;
      await core().createNamespacedPod({ namespace: optedIn, body: ifNotPresent("second", image) });
      await waitForPod(core(), optedIn, "second", allRunning);
      expect((await podEvents(core(), optedIn, "second")).join("\n")).toMatch(REUSED);

      // The same image, in a namespace that did not opt in: the kubelet asks the registry, with nothing.
      await core().createNamespacedPod({ namespace: plain, body: ifNotPresent("other", image) });
      await waitForPod(core(), plain, "other", pullFailed);
      expect(
        front()
          .of(path, { all: true })
          .slice(seen)
          .map((r) => r.outcome),
      ).not.toContain("accepted");
      expect(front().of(path, { all: true }).slice(seen).length).toBeGreaterThan(0);

      // Rotation writes a new token into the same Secret (same UID): the record still matches.
      const before = await readSecret(optedIn);
      const oldPassword = dockerConfigOf(before)[REGISTRY]!.password;
      await expect
        .poll(async () => dockerConfigOf(await readSecret(optedIn))[REGISTRY]!.password !== oldPassword, {
          timeout: TOKEN_TTL_MS,
          interval: 500,
        })
        .toBe(true);
      const rotated = await readSecret(optedIn);
      expect(rotated.metadata?.uid).toBe(before.metadata?.uid);
      const beforeThird = front().of(path, { all: true }).length;
      await core().createNamespacedPod({ namespace: optedIn, body: ifNotPresent("third", image) });
      await waitForPod(core(), optedIn, "third", allRunning);
      expect((await podEvents(core(), optedIn, "third")).join("\n")).toMatch(REUSED);
      expect(front().of(path, { all: true }).length).toBe(beforeThird);
    }, 120_000);

    it("a Secret deleted and recreated with a new token is a stranger: the pod must pull again", async () => {
      front().refuseAll(false);
      const namespace = await suite.namespace("kep-recreate", { labels: { ...ENABLED } });
      const path = `${namespace}/app`;
      const image = imageAt(REGISTRY, path);
      await core().createNamespacedPod({ namespace, body: ifNotPresent("first", image) });
      await waitForPod(core(), namespace, "first", allRunning);

      // What a rotation by delete-and-create would leave: the same name, a new UID, a new token.
      front().refuseAll(true);
      const old = await readSecret(namespace);
      const ecr = new ECRClient({ endpoint: suite.aws.url, region: "us-east-1" });
      const issued = await ecr.send(new GetAuthorizationTokenCommand({}));
      ecr.destroy();
      const password = Buffer.from(issued.authorizationData![0]!.authorizationToken!, "base64")
        .toString("utf8")
        .slice(4);
      await core().deleteNamespacedSecret({ namespace, name: SECRET });
      const entries = new Map([
        [REGISTRY, { password, expiresAt: issued.authorizationData![0]!.expiresAt!, issuedAt: new Date() }],
      ]);
      // The webhook may put one back first (its reconciler); then ours replaces that one's content.
      const recreated = await core()
        .createNamespacedSecret({ namespace, body: buildSecret(namespace, SECRET, entries) })
        .catch(async (error: { code?: number }) => {
          if (error.code !== 409) throw error;
          const current = await readSecret(namespace);
          return core().replaceNamespacedSecret({
            namespace,
            name: SECRET,
            body: buildSecret(namespace, SECRET, entries, current),
          });
        });
      expect(recreated.metadata?.uid).not.toBe(old.metadata?.uid);

      const seen = front().of(path, { all: true }).length;
      await core().createNamespacedPod({ namespace, body: ifNotPresent("second", image) });
      await waitForPod(core(), namespace, "second", pullFailed);
      const asked = front().of(path, { all: true }).slice(seen);
      expect(asked.some((r) => r.outcome === "refused" && r.reason === "refused by the registry")).toBe(true);
    }, 120_000);
  },
  { minKubelet: [1, 35] },
);
