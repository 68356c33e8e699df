import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import { parseCommandLine } from "../config/command-line.js";
import { ConfigError, type AdmissionPolicy } from "../config/config.js";
import type { NamespaceMeta } from "../policy/namespace.js";
import { explainManifest, type Explanation } from "./explain-model.js";

export const EXPLAIN_OPTIONS = {
  filename: { type: "string", short: "f" },
  output: { type: "string", short: "o", default: "text" },
  namespace: { type: "string", short: "n" },
  "namespace-labels": { type: "string" },
  "namespace-annotations": { type: "string" },
} as const;

export const EXPLAIN_HELP = [
  "  -f, --filename <file>",
  "      Pod, ServiceAccount or workload manifest (YAML or JSON, several documents allowed; - for stdin).",
  "  -o, --output text|json",
  "      Output format (default text).",
  "  -n, --namespace <name>",
  "      Namespace to assume when the manifest names none (default: default).",
  "  --namespace-labels k=v,...",
  "      Labels of that namespace (default: the opt-in label, i.e. an enabled namespace).",
  "  --namespace-annotations k=v,...",
  "      Annotations of that namespace, e.g. ecr-webhook.io/allowed-accounts=123456789012.",
];

function keyValues(text: string | undefined, flag: string): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of text.split(",").filter(Boolean)) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new ConfigError(`--${flag} "${pair}" is not of the form key=value.`);
    out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return out;
}

async function readManifests(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = file === "-" ? await readStdin() : await readFile(file, "utf8");
  } catch (error) {
    throw new ConfigError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
    );
  }
  const docs = parseAllDocuments(text);
  const manifests: unknown[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length > 0)
      throw new ConfigError(`${file} is not valid YAML: ${doc.errors[0]?.message.split("\n")[0]}.`);
    const value: unknown = doc.toJS();
    if (value && typeof value === "object") manifests.push(...(isList(value) ? value.items : [value]));
  }
  if (manifests.length === 0) throw new ConfigError(`${file} holds no Kubernetes object.`);
  return manifests;
}

const isList = (value: object): value is { items: unknown[] } =>
  Array.isArray((value as { items?: unknown }).items);

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** `ecr-webhook explain`: the admission decision for a manifest, with no cluster and no AWS. */
export async function runExplain(argv: string[], out: (text: string) => void = console.log): Promise<number> {
  const { config, extra } = parseCommandLine("explain", argv, process.env, EXPLAIN_OPTIONS);
  const file = extra.filename as string | undefined;
  if (!file) throw new ConfigError("explain needs a manifest: ecr-webhook explain -f pod.yaml");
  const output = extra.output as string;
  if (output !== "text" && output !== "json")
    throw new ConfigError(`-o "${output}" is not valid: expected text or json.`);
  const labels = keyValues(extra["namespace-labels"] as string | undefined, "namespace-labels") ?? {
    [config.namespaceLabel.key]: config.namespaceLabel.value,
  };
  const annotations =
    keyValues(extra["namespace-annotations"] as string | undefined, "namespace-annotations") ?? {};
  const explanations = (await readManifests(file)).map((manifest) => {
    const name =
      (manifest as { metadata?: { namespace?: string } }).metadata?.namespace ??
      (extra.namespace as string) ??
      "default";
    const namespace: NamespaceMeta = { name, labels, annotations };
    return explainManifest(manifest, namespace, config);
  });
  out(
    output === "json"
      ? JSON.stringify(explanations, null, 2)
      : explanations.map((e) => renderText(e, config)).join("\n\n"),
  );
  return 0;
}

function renderImage({ image, registry }: Explanation["images"][number], policy: AdmissionPolicy): string {
  if (registry.kind === "ecr-public")
    return policy.ecrPublic
      ? `    ${image}\n      → ECR Public: an authenticated ${registry.registry.host} entry (--ecr-public), token from us-east-1`
      : `    ${image}\n      → ECR Public: pulled anonymously (--ecr-public would add an authenticated entry)`;
  if (registry.kind === "ecr") {
    const r = registry.registry;
    return `    ${image}\n      → private ECR: account ${r.account}, region ${r.region}, partition ${r.partition}`;
  }
  if (registry.kind === "other")
    return `    ${image}\n      → ${registry.host}: not private ECR, no credentials from ecr-webhook`;
  return `    ${image}\n      → not a usable image reference: ${registry.reason}`;
}

export function renderText(e: Explanation, policy: AdmissionPolicy): string {
  const label = `${policy.namespaceLabel.key}=${policy.namespaceLabel.value}`;
  const lines = [`${e.object} in namespace ${e.namespace}`];
  lines.push(
    `  namespace: ${e.namespaceEnabled ? `enabled (${label})` : `not enabled (needs label ${label}, and not excluded)`}`,
  );
  if (e.images.length > 0) lines.push("  images:", ...e.images.map((image) => renderImage(image, policy)));
  if (e.action === "skip") {
    lines.push(`  decision: admitted unchanged (${e.reason})`);
  } else if (e.action === "strip") {
    lines.push(`  decision: the "${policy.secretName}" reference removed (${e.reason})`);
  } else {
    lines.push(`  decision: inject pull Secret "${policy.secretName}"`);
    lines.push(
      `  registries in the Secret: ${e.registries.length > 0 ? e.registries.join(", ") : "(none needed)"}`,
    );
  }
  lines.push(
    ...(e.warnings.length > 0 ? ["  warnings:", ...e.warnings.map((w) => `    ${w}`)] : ["  warnings: none"]),
  );
  lines.push(`  JSON patch: ${e.patch.length > 0 ? JSON.stringify(e.patch) : "(none)"}`);
  lines.push(
    `  imagePullSecrets after admission: ${e.imagePullSecrets.length > 0 ? e.imagePullSecrets.join(", ") : "(none)"}`,
  );
  return lines.join("\n");
}
