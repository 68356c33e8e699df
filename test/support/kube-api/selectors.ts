/** Label and field selectors with the grammar of k8s.io/apimachinery (labels.Parse, fields.ParseSelector). */
import type { KubeObject } from "./types.js";

export class SelectorError extends Error {}

type LabelRequirement =
  | { key: string; op: "exists" | "!exists" }
  | { key: string; op: "=" | "!=" | "in" | "notin"; values: string[] }
  | { key: string; op: ">" | "<"; values: [string] };

export type Matcher = (obj: KubeObject) => boolean;

const KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of selector) {
    if (ch === "(") depth += 1;
    if (ch === ")") depth -= 1;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

function checkKey(key: string): string {
  if (!KEY.test(key)) throw new SelectorError(`unable to parse requirement: invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (!VALUE.test(value))
    throw new SelectorError(`unable to parse requirement: invalid label value: "${value}"`);
  return value;
}

function parseRequirement(part: string): LabelRequirement {
  if (part === "") throw new SelectorError("unable to parse requirement: found '', expected: identifier");
  const notExists = /^!\s*(\S+)$/.exec(part);
  if (notExists) return { key: checkKey(notExists[1]!), op: "!exists" };
  const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
  if (set) {
    const values = set[3]!.split(",").map((v) => checkValue(v.trim()));
    return { key: checkKey(set[1]!), op: set[2] as "in" | "notin", values };
  }
  const binary = /^([^\s!=<>]+)\s*(==|=|!=|>|<)\s*(\S*)$/.exec(part);
  if (binary) {
    const key = checkKey(binary[1]!);
    const op = binary[2]!;
    const value = binary[3]!;
    if (op === ">" || op === "<") {
      if (!/^-?\d+$/.test(value))
        throw new SelectorError(
          `unable to parse requirement: for '${op}' operator, the value must be an integer`,
        );
      return { key, op, values: [value] };
    }
    return { key, op: op === "!=" ? "!=" : "=", values: [checkValue(value)] };
  }
  if (/^\S+$/.test(part)) return { key: checkKey(part), op: "exists" };
  throw new SelectorError(`unable to parse requirement: cannot parse '${part}'`);
}

function matchesRequirement(req: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case "exists":
      return has;
    case "!exists":
      return !has;
    case "=":
    case "in":
      return has && req.values.includes(value!);
    case "!=":
    case "notin":
      return !has || !req.values.includes(value!);
    case ">":
    case "<": {
      if (!has || !/^-?\d+$/.test(value!)) return false;
      const n = Number(value);
      const bound = Number(req.values[0]);
      return req.op === ">" ? n > bound : n < bound;
    }
  }
}

/** Parses a labelSelector; an empty or absent selector matches everything. Throws SelectorError. */
export function parseLabelSelector(selector: string | undefined): Matcher {
  if (selector === undefined || selector.trim() === "") return () => true;
  const requirements = splitTopLevel(selector).map(parseRequirement);
  return (obj) => {
    const labels = obj.metadata?.labels ?? {};
    return requirements.every((r) => matchesRequirement(r, labels));
  };
}

/**
 * Reads a selectable field of an object: a string (possibly "") for every supported field, even on an
 * empty object; undefined means the field is not supported for this resource.
 */
export type FieldGetter = (obj: KubeObject, field: string) => string | undefined;

/** Parses a fieldSelector (`f=v`, `f==v`, `f!=v`, comma-separated). Throws SelectorError. */
export function parseFieldSelector(selector: string | undefined, getField: FieldGetter): Matcher {
  if (selector === undefined || selector.trim() === "") return () => true;
  const terms = selector.split(",").map((part) => {
    const m = /^\s*([^\s!=]+)\s*(==|=|!=)\s*(\S*)\s*$/.exec(part);
    if (!m) throw new SelectorError(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = m[1]!;
    if (getField({}, field) === undefined) throw new SelectorError(`field label not supported: ${field}`);
    return { field, negate: m[2] === "!=", value: m[3]! };
  });
  return (obj) =>
    terms.every((t) => {
      const actual = getField(obj, t.field) ?? "";
      return t.negate ? actual !== t.value : actual === t.value;
    });
}
