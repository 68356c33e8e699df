/**
 * Reading the deployment manifests and the Dockerfile for test/manifests: YAML documents, a minimal
 * kustomize (resources, components and strategic-merge patches by kind and name, which is all these
 * kustomizations use), and a Dockerfile split into stages and instructions.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

/**
 * The repository root; every path below is relative to it, with forward slashes. Found upwards, so
 * that the benchmark's compiled copy under dist-bench/ reads the same manifests.
 */
export const ROOT = ((): string => {
  let dir = fileURLToPath(new URL(".", import.meta.url));
  while (!existsSync(join(dir, "webhook-config", "kustomization.yaml"))) {
    if (dirname(dir) === dir) throw new Error("no webhook-config/ above test/manifests");
    dir = dirname(dir);
  }
  return dir;
})();

/** A Kubernetes object as parsed, deliberately untyped: tests look into it field by field. */
export type K8sObject = Record<string, any> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, any> & { name: string; namespace?: string };
};

export function readText(path: string): string {
  return readFileSync(join(ROOT, path), "utf8");
}

export function isDirectory(path: string): boolean {
  return existsSync(join(ROOT, path)) && statSync(join(ROOT, path)).isDirectory();
}

export function isFile(path: string): boolean {
  return existsSync(join(ROOT, path)) && statSync(join(ROOT, path)).isFile();
}

/** Every document of a YAML stream; a syntax error fails loudly instead of yielding nothing. */
export function parseYamlText(text: string, source: string): any[] {
  const values: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join("; ")}`);
    values.push(doc.toJS());
  }
  return values.filter((value) => value !== null && value !== undefined);
}

export function parseYamlFile(path: string): any[] {
  return parseYamlText(readText(path), path);
}

/** Kubernetes objects (documents with kind and metadata.name) in one YAML file. */
export function objectsInFile(path: string): K8sObject[] {
  return parseYamlFile(path).filter(
    (doc): doc is K8sObject => typeof doc?.kind === "string" && typeof doc?.metadata?.name === "string",
  );
}

/** *.yaml / *.yml files in a folder (directly in it, or in the whole tree below it). */
export function yamlFiles(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory() && recursive) out.push(...yamlFiles(path, true));
    if (entry.isFile() && /\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

export interface Kustomization {
  readonly apiVersion: string;
  readonly kind: string;
  readonly resources: string[];
  readonly components: string[];
  /** Paths of the file patches (`patches: [{path}]`). */
  readonly patchFiles: string[];
}

export function readKustomization(dir: string): Kustomization {
  const [doc] = parseYamlFile(posix.join(dir, "kustomization.yaml"));
  if (!doc) throw new Error(`${dir}/kustomization.yaml is empty`);
  return {
    apiVersion: doc.apiVersion,
    kind: doc.kind,
    resources: doc.resources ?? [],
    components: doc.components ?? [],
    patchFiles: (doc.patches ?? []).map((patch: { path?: string }) => {
      if (!patch.path) throw new Error(`${dir}: only file patches are understood by this test`);
      return patch.path;
    }),
  };
}

/** The path of an entry of a kustomization, relative to the repository root. */
export function entryPath(dir: string, entry: string): string {
  return posix.normalize(posix.join(dir, entry));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Strategic merge as far as these patches need it: maps merge, everything else is replaced. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(target) || !isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) out[key] = mergePatch(target[key], value);
  return out;
}

function applyPatchFile(objects: K8sObject[], path: string): K8sObject[] {
  const patches = objectsInFile(path);
  if (patches.length === 0) throw new Error(`${path} holds no patch`);
  let out = objects;
  for (const patch of patches) {
    const hits = out.filter((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
    if (hits.length !== 1)
      throw new Error(`${path}: patch target ${patch.kind}/${patch.metadata.name} not found`);
    out = out.map((o) => (hits.includes(o) ? (mergePatch(o, patch) as K8sObject) : o));
  }
  return out;
}

/**
 * What `kubectl kustomize <dir>` yields, for the features these kustomizations use. A Component
 * works on what its parent has accumulated so far (`inherited`): its patches may target those.
 */
export function build(dir: string, inherited: K8sObject[] = []): K8sObject[] {
  const kustomization = readKustomization(dir);
  let objects: K8sObject[] = [...inherited];
  for (const entry of kustomization.resources) {
    const path = entryPath(dir, entry);
    objects.push(...(isDirectory(path) ? build(path) : objectsInFile(path)));
  }
  for (const entry of kustomization.components) objects = build(entryPath(dir, entry), objects);
  for (const entry of kustomization.patchFiles) objects = applyPatchFile(objects, entryPath(dir, entry));
  return objects;
}

/** The one object of a kind (and name); anything else is an error naming what was found. */
export function one(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const hits = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (hits.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` named ${name}` : ""}, found ${hits.length}`);
  }
  return hits[0]!;
}

export { dockerStages, type DockerInstruction } from "../support/dockerfile.js";
