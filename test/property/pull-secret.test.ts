/**
 * The managed pull Secret's encoding: what buildSecret writes, readEntries reads back exactly, and
 * readEntries survives whatever else a Secret of that name may hold (someone edited it, another tool
 * wrote it) without throwing, returning only well-formed entries.
 */
import fc from "fast-check";
import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  ANNOTATION_EXPIRIES,
  DOCKER_CONFIG_KEY,
  buildSecret,
  mergeEntries,
  readEntries,
  type RegistryEntry,
} from "../../src/secrets/pull-secret.js";
import { SEED, ecrReference } from "./arbitraries.js";

const entry: fc.Arbitrary<RegistryEntry> = fc.record({
  password: fc.oneof(fc.base64String({ minLength: 4, maxLength: 200 }), fc.string({ minLength: 1 })),
  expiresAt: fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }),
});
const entries = fc
  .array(
    fc.tuple(
      ecrReference.map((r) => r.host),
      entry,
    ),
    { maxLength: 6 },
  )
  .map((pairs) => new Map(pairs));

const b64 = (text: string) => Buffer.from(text).toString("base64");

function secretWith(data: string | undefined, expiries: string | undefined): V1Secret {
  return {
    metadata: {
      name: "ecr-pull-secret",
      namespace: "team-a",
      annotations: expiries === undefined ? {} : { [ANNOTATION_EXPIRIES]: expiries },
    },
    data: data === undefined ? {} : { [DOCKER_CONFIG_KEY]: data },
  };
}

/** Whatever it read, readEntries returns only well-formed entries. */
function expectWellFormed(read: Map<string, RegistryEntry>): void {
  for (const [host, { password, expiresAt }] of read) {
    expect(typeof host).toBe("string");
    expect(typeof password).toBe("string");
    expect(expiresAt).toBeInstanceOf(Date);
    expect(Number.isNaN(expiresAt.getTime())).toBe(false);
  }
}

describe("pull Secret encoding", () => {
  it("readEntries(buildSecret(entries)) gives back exactly the entries; merging never loses a host", () => {
    fc.assert(
      fc.property(entries, entries, (existing, fresh) => {
        expect(readEntries(buildSecret("team-a", "ecr-pull-secret", existing))).toEqual(existing);
        const merged = mergeEntries(existing, fresh);
        expect([...merged.keys()].sort()).toEqual([...new Set([...existing.keys(), ...fresh.keys()])].sort());
        for (const [host, value] of fresh) expect(merged.get(host)).toEqual(value);
        expect(readEntries(buildSecret("team-a", "ecr-pull-secret", merged))).toEqual(merged);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  const content = (json: fc.Arbitrary<unknown>) =>
    fc.oneof(
      json.map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 40 }),
      fc.constant(undefined),
    );

  it("readEntries never throws on arbitrary content (other than a top-level JSON null)", () => {
    const notNull = fc.jsonValue({ maxDepth: 4 }).filter((value) => value !== null);
    const config = fc.oneof(
      notNull,
      fc.record({ auths: fc.dictionary(fc.string({ maxLength: 20 }), fc.oneof(notNull, entry)) }),
    );
    fc.assert(
      fc.property(content(config), content(notNull), (dockerConfig, expiries) => {
        const data = dockerConfig === undefined ? undefined : b64(dockerConfig);
        expectWellFormed(readEntries(secretWith(data, expiries)));
        // Not base64 at all, too.
        expectWellFormed(readEntries(secretWith(dockerConfig, expiries)));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("readEntries never throws on arbitrary content, JSON null included", () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(content(json), content(json), (dockerConfig, expiries) => {
        const data = dockerConfig === undefined ? undefined : b64(dockerConfig);
        expectWellFormed(readEntries(secretWith(data, expiries)));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
