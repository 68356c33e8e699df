import { describe, expect, it } from "vitest";
import { runExplain } from "../../src/commands/explain.js";

async function explain(argv: string[]): Promise<string> {
  let printed = "";
  const code = await runExplain(argv, (text) => (printed += text));
  expect(code).toBe(0);
  return printed;
}

describe("ecr-webhook explain", () => {
  it("explains the shipped example pod: registries, patch and the resulting list", async () => {
    const [result] = JSON.parse(await explain(["-f", "examples/pod.yaml", "-o", "json"]));
    expect(result).toMatchObject({
      object: "Pod web",
      namespace: "team-a",
      namespaceEnabled: true,
      action: "inject",
      registries: [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "210987654321.dkr.ecr.eu-west-1.amazonaws.com",
      ],
      warnings: [],
      patch: [{ op: "add", path: "/spec/imagePullSecrets", value: [{ name: "ecr-pull-secret" }] }],
      imagePullSecrets: ["ecr-pull-secret"],
    });
    expect(result.images.map((i: any) => i.registry.kind)).toEqual(["ecr", "ecr-public"]);
  });

  it("with --ecr-public, public.ecr.aws joins the Secret, whatever the allow-lists say", async () => {
    const argv = ["-f", "examples/pod.yaml", "--allowed-accounts", "123456789012,210987654321"];
    const [result] = JSON.parse(await explain([...argv, "--ecr-public=true", "-o", "json"]));
    expect(result.registries).toEqual([
      "123456789012.dkr.ecr.us-east-1.amazonaws.com",
      "210987654321.dkr.ecr.eu-west-1.amazonaws.com",
      "public.ecr.aws",
    ]);
    expect(await explain([...argv, "--ecr-public=true"])).toContain(
      "public.ecr.aws/nginx/nginx:1.27\n      → ECR Public: an authenticated public.ecr.aws entry (--ecr-public)",
    );
    expect(await explain(argv)).toContain(
      "public.ecr.aws/nginx/nginx:1.27\n      → ECR Public: pulled anonymously (--ecr-public would add",
    );
  });

  it("explains a Deployment through its pod template, keeping existing pull secrets", async () => {
    const [result] = JSON.parse(
      await explain(["-f", "examples/deployment.yaml", "-o", "json", "--secret-name", "ecr"]),
    );
    expect(result.object).toBe("Deployment api (pod template)");
    expect(result.imagePullSecrets).toEqual(["existing-creds", "ecr"]);
  });

  it("shows namespace rules: not enabled, and an allow-list that drops a registry", async () => {
    const off = await explain(["-f", "examples/pod.yaml", "--namespace-labels", "team=a"]);
    expect(off).toContain(
      "namespace: not enabled (needs label ecr-webhook.io/inject=enabled, and not excluded)",
    );
    expect(off).toContain("JSON patch: (none)");
    const narrowed = await explain([
      "-f",
      "examples/pod.yaml",
      "--namespace-annotations",
      "ecr-webhook.io/allowed-accounts=123456789012",
    ]);
    expect(narrowed).toContain(
      "no credentials for 210987654321.dkr.ecr.eu-west-1.amazonaws.com: account 210987654321 is not allowed by namespace team-a annotation ecr-webhook.io/allowed-accounts",
    );
  });

  it.each([
    [["-f", "does-not-exist.yaml"], /cannot read does-not-exist.yaml: ENOENT/],
    [[], /explain needs a manifest/],
    [["-f", "examples/pod.yaml", "-o", "yaml"], /-o "yaml" is not valid/],
    [
      ["-f", "examples/pod.yaml", "--namespace-labels", "novalue"],
      /--namespace-labels "novalue" is not of the form key=value/,
    ],
  ])("%j fails with one clear sentence", async (argv, message) => {
    await expect(runExplain(argv, () => {})).rejects.toThrow(message);
  });
});
