import { afterEach, describe, expect, it } from "vitest";
import { ENABLED, startHarness, type Harness } from "../support/harness.js";

const EAST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const strip = (sa: any) => ({ imagePullSecrets: sa.imagePullSecrets, annotations: sa.metadata.annotations });
const serviceAccounts = (h: Harness, ns: string) =>
  Object.fromEntries(
    h.kube.listObjects("serviceaccounts", ns).map((sa: any) => [sa.metadata.name, strip(sa)]),
  );

async function start(extraArgv: string[] = []) {
  h = await startHarness({
    controller: true,
    argv: [
      "--leader-elect=false",
      "--default-account=123456789012",
      "--default-region=us-east-1",
      "--rotation-interval=1h",
      ...extraArgv,
    ],
  });
  h.kube.addNamespace("team-x");
  const put = (name: string, extra: object) =>
    h!.kube.put("serviceaccounts", "team-x", {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace: "team-x" },
      ...extra,
    });
  put("default", {});
  put("builder", { imagePullSecrets: [{ name: "mine" }] });
  put("manual", { imagePullSecrets: [{ name: "ecr-pull-secret" }] });
  return h;
}

const label = (h: Harness, on: boolean) =>
  h.kube.updateNamespace("team-x", (ns: any) => {
    if (on) ns.metadata.labels = { ...ns.metadata.labels, ...ENABLED };
    else delete ns.metadata.labels["ecr-webhook.io/inject"];
  });

describe("namespace opt-in and opt-out", () => {
  it("labelling references the Secret from existing ServiceAccounts; unlabelling restores exactly what was there", async () => {
    const h = await start();
    const original = serviceAccounts(h, "team-x");
    label(h, true);
    await expect
      .poll(() => serviceAccounts(h, "team-x").default?.imagePullSecrets, { timeout: 5_000 })
      .toEqual([{ name: "ecr-pull-secret" }]);
    await expect
      .poll(() => h.kube.get("secrets", "team-x", "ecr-pull-secret"), { timeout: 5_000 })
      .toBeDefined();
    const enabled = serviceAccounts(h, "team-x");
    expect(enabled).toEqual({
      default: {
        imagePullSecrets: [{ name: "ecr-pull-secret" }],
        annotations: { "ecr-webhook.io/added-pull-secret": "ecr-pull-secret" },
      },
      builder: {
        imagePullSecrets: [{ name: "mine" }, { name: "ecr-pull-secret" }],
        annotations: { "ecr-webhook.io/added-pull-secret": "ecr-pull-secret" },
      },
      // Already referenced by its owner: untouched and not marked, so opt-out will not remove it.
      manual: { imagePullSecrets: [{ name: "ecr-pull-secret" }], annotations: undefined },
    });
    const secret: any = h.kube.get("secrets", "team-x", "ecr-pull-secret");
    expect(
      Object.keys(JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString()).auths),
    ).toEqual([EAST]);

    label(h, false);
    await expect
      .poll(() => h.kube.get("secrets", "team-x", "ecr-pull-secret"), { timeout: 5_000 })
      .toBeUndefined();
    expect(serviceAccounts(h, "team-x")).toEqual(original);
  });

  it("--keep-on-disable leaves the Secret and the references", async () => {
    const h = await start(["--keep-on-disable=true"]);
    label(h, true);
    await expect
      .poll(() => h.kube.get("secrets", "team-x", "ecr-pull-secret"), { timeout: 5_000 })
      .toBeDefined();
    await expect
      .poll(() => serviceAccounts(h, "team-x").default?.imagePullSecrets, { timeout: 5_000 })
      .toEqual([{ name: "ecr-pull-secret" }]);
    const enabled = serviceAccounts(h, "team-x");
    label(h, false);
    await new Promise((r) => setTimeout(r, 500));
    expect(h.kube.get("secrets", "team-x", "ecr-pull-secret")).toBeDefined();
    expect(serviceAccounts(h, "team-x")).toEqual(enabled);
  });

  it("--patch-service-accounts=false: opting in creates the Secret and leaves ServiceAccounts alone", async () => {
    const h = await start(["--patch-service-accounts=false"]);
    const original = serviceAccounts(h, "team-x");
    label(h, true);
    await expect
      .poll(() => h.kube.get("secrets", "team-x", "ecr-pull-secret"), { timeout: 5_000 })
      .toBeDefined();
    expect(serviceAccounts(h, "team-x")).toEqual(original);
    expect(h.kube.count({ resource: "serviceaccounts", verb: "patch" })).toBe(0);
  });

  it("excluded namespaces are never touched, even when labelled", async () => {
    const h = await start(["--exclude-namespaces=team-x"]);
    const original = serviceAccounts(h, "team-x");
    label(h, true);
    h.kube.addNamespace("kube-system", { labels: ENABLED });
    await new Promise((r) => setTimeout(r, 500));
    expect(serviceAccounts(h, "team-x")).toEqual(original);
    expect(
      h.kube.count(
        (r) =>
          (r.resource === "secrets" && r.verb !== "list" && r.verb !== "watch") ||
          (r.resource === "serviceaccounts" && r.verb === "patch"),
      ),
    ).toBe(0);
  });
});
