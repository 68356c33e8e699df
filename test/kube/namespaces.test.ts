import { afterEach, describe, expect, it } from "vitest";
import { LIST_PAGE_SIZE } from "../../src/kube/list-pages.js";
import { enabledNamespaceLister } from "../../src/kube/namespaces.js";
import { ENABLED } from "../support/harness.js";
import { testConfig } from "../support/fixtures.js";
import { startKubeApi, type KubeApiStandIn } from "../support/kube-api/index.js";

let kube: KubeApiStandIn | undefined;
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

describe("enabledNamespaceLister", () => {
  it("reads the label-selected list in pages and keeps every enabled, live, not excluded namespace", async () => {
    kube = await startKubeApi();
    const total = 2 * LIST_PAGE_SIZE + 7;
    const names = Array.from({ length: total }, (_, i) => `team-${String(i).padStart(4, "0")}`);
    for (const name of names) kube.addNamespace(name, { labels: ENABLED });
    kube.addNamespace("not-labelled");
    kube.addNamespace("excluded", { labels: ENABLED });
    kube.addNamespace("leaving", { labels: ENABLED });
    kube.terminateNamespace("leaving");

    const list = enabledNamespaceLister(kube.kubeConfig(), testConfig(["--exclude-namespaces=excluded"]));
    expect((await list()).map((ns) => ns.name).sort()).toEqual(names);

    const lists = kube.requests.filter((r) => r.verb === "list" && r.resource === "namespaces");
    expect(lists).toHaveLength(3);
    expect(lists.map((r) => r.query.limit)).toEqual(Array(3).fill(String(LIST_PAGE_SIZE)));
    expect(lists[0]!.query.continue).toBeUndefined();
    expect(lists[1]!.query.continue).toBeDefined();
    expect(lists[2]!.query.continue).not.toBe(lists[1]!.query.continue);
    expect(lists.every((r) => r.query.labelSelector === "ecr-webhook.io/inject=enabled")).toBe(true);
  });
});
