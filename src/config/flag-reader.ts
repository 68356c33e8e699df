/**
 * Reading one flag's value at a time and checking its format: the formats every flag shares, and
 * the sentence that names flag and value when one is wrong.
 */
import { ConfigError } from "./config.js";
import { parseDuration } from "./duration.js";
import { FLAGS } from "./flags.js";

/** The values given, on the command line or by environment twin, by flag name. */
export type RawFlags = Map<string, string | string[]>;

export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}

/** Reads one flag at a time and turns a bad value into a sentence that names flag and value. */
export class FlagReader {
  constructor(private readonly raw: RawFlags) {}

  string(name: string): string | undefined {
    // Flags a command does not take keep their defaults, so every command gets a complete Config.
    const value = this.raw.get(name) ?? FLAGS.find((s) => s.name === name)?.default;
    return typeof value === "string" ? value : undefined;
  }

  repeated(name: string): string[] {
    const value = this.raw.get(name);
    return Array.isArray(value) ? value : [];
  }

  fail(name: string, value: string, expected: string): never {
    throw new ConfigError(`--${name} "${value}" is not valid: expected ${expected}.`);
  }

  checked(name: string, test: (v: string) => boolean, expected: string): string | undefined {
    const value = this.string(name);
    if (value === undefined || value === "") return undefined;
    return test(value) ? value : this.fail(name, value, expected);
  }

  list(name: string, test: (v: string) => boolean, expected: string): string[] {
    const items = (this.string(name) ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const item of items) if (!test(item)) this.fail(name, item, `a comma list of ${expected}`);
    return items;
  }

  int(name: string, min: number, max: number): number {
    const value = this.string(name) ?? "";
    const n = Number(value);
    return /^\d+$/.test(value) && n >= min && n <= max
      ? n
      : this.fail(name, value, `a whole number from ${min} to ${max}`);
  }

  bool(name: string): boolean {
    const value = this.string(name) ?? "";
    if (value === "true") return true;
    if (value === "false") return false;
    return this.fail(name, value, "true or false");
  }

  duration(name: string, minMs: number, maxMs: number): number {
    const value = this.string(name) ?? "";
    const ms = parseDuration(value);
    if (ms === undefined || ms < minMs || ms > maxMs) {
      return this.fail(
        name,
        value,
        `a duration such as 2s, 10m or 6h, between ${minMs}ms and ${maxMs / 1000}s`,
      );
    }
    return ms;
  }

  dnsName(name: string): string {
    const value = this.string(name) ?? "";
    return value.length <= 253 && DNS_SUBDOMAIN.test(value)
      ? value
      : this.fail(name, value, "a lower-case DNS name");
  }

  oneOf(name: string, choices: readonly string[]): string | undefined {
    const value = this.string(name);
    return value === undefined || choices.includes(value)
      ? value
      : this.fail(name, value, `one of ${choices.join(", ")}`);
  }
}
