/**
 * classifyImage beyond what test/registry/ecr-registry.test.ts covers (tables, strings up to 300
 * characters, a fixed list of hostile inputs): every generated ECR reference classifies as exactly
 * its registry; near-misses of one (characters inserted, deleted or replaced, including look-alike
 * Unicode, lone surrogates and control characters) never throw and are only ever "ecr" for a real,
 * lower-case ECR host; arbitrary full-Unicode and very long strings never throw; and the 255-character
 * name limit holds exactly at its boundary.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyImage, partitionOfRegion, type ImageRegistry } from "../../src/registry/ecr-registry.js";
import { MAX_REFERENCE_LENGTH } from "../../src/registry/reference.js";
import { SEED, ecrReference } from "./arbitraries.js";

/** The private ECR host forms AWS documents (see src/registry/ecr-registry.ts), written out again. */
const ECR_HOST =
  /^(\d{12})\.(?:dkr\.ecr|dkr\.ecr-fips|dkr-ecr|dkr-ecr-fips)\.([a-z0-9-]+)\.(?:amazonaws\.com|amazonaws\.com\.cn|on\.aws|on\.amazonwebservices\.com\.cn|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;

function expectWellFormedResult(result: ImageRegistry): void {
  expect(["ecr", "other", "invalid"]).toContain(result.kind);
  if (result.kind === "invalid") expect(result.reason).toMatch(/^[A-Z][^.]*\.$/);
  if (result.kind === "other") expect(result.host.length).toBeGreaterThan(0);
}

/** What an "ecr" verdict promises about the image it was given. */
function expectTrueEcr(image: string, result: ImageRegistry): void {
  if (result.kind !== "ecr") return;
  const { registry } = result;
  expect(image.startsWith(`${registry.host}/`)).toBe(true);
  const match = ECR_HOST.exec(registry.host);
  expect(match, registry.host).not.toBeNull();
  expect(registry.account).toBe(match![1]);
  expect(registry.region).toBe(match![2]);
  expect(registry.partition).toBe(partitionOfRegion(registry.region));
  // The verdict depends on the host alone.
  expect(classifyImage(`${registry.host}/probe`)).toEqual(result);
}

describe("classifyImage on generated references", () => {
  it("classifies every well-formed ECR reference as exactly its registry", () => {
    fc.assert(
      fc.property(ecrReference, ({ image, account, region, host }) => {
        expect(classifyImage(image)).toEqual({
          kind: "ecr",
          registry: { account, region, host, partition: partitionOfRegion(region) },
        });
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  // Characters that break, bend or imitate the grammar.
  const edit = fc.constantFrom(
    ".",
    "-",
    "/",
    ":",
    "@",
    "_",
    "A",
    "Z",
    "0",
    "9",
    "a",
    " ",
    "\u0000",
    "\t",
    "\u0130", // İ: lower-cases to two characters
    "\u212a", // Kelvin sign: lower-cases to "k"
    "\u0131", // dotless ı
    "\uff0e", // full-width full stop
    "\uff11", // full-width digit one
    "\u200b", // zero-width space
    "\ud800", // lone high surrogate
    "\udc00", // lone low surrogate
    "\u{1f642}",
    "é",
  );
  const edits = fc.array(fc.tuple(fc.constantFrom("insert", "delete", "replace"), fc.nat(), edit), {
    minLength: 1,
    maxLength: 3,
  });

  function applyEdits(image: string, list: [string, number, string][]): string {
    let out = image;
    for (const [op, at, char] of list) {
      const i = at % (out.length + 1);
      if (op === "insert") out = out.slice(0, i) + char + out.slice(i);
      else if (op === "delete") out = out.slice(0, i) + out.slice(i + 1);
      else out = out.slice(0, i) + char + out.slice(i + 1);
    }
    return out;
  }

  it("never throws on near-misses, and says ecr only for a real lower-case ECR host", () => {
    let stillEcr = 0;
    let notEcr = 0;
    fc.assert(
      fc.property(ecrReference, edits, ({ image }, list) => {
        const mutated = applyEdits(image, list);
        const result = classifyImage(mutated);
        expectWellFormedResult(result);
        expectTrueEcr(mutated, result);
        if (result.kind === "ecr") stillEcr++;
        else notEcr++;
      }),
      { seed: SEED, numRuns: 500 },
    );
    // Both outcomes occurred: the edits reach the host and the path alike.
    expect(stillEcr).toBeGreaterThan(0);
    expect(notEcr).toBeGreaterThan(0);
  });
});

describe("classifyImage on arbitrary strings", () => {
  it("never throws on full-Unicode strings, lone surrogates included", () => {
    const anyUnit = fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.string({
        unit: fc.oneof(
          fc.constantFrom("/", ":", "@", ".", "a", "1"),
          fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
          fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
        ),
        maxLength: 200,
      }),
    );
    fc.assert(
      fc.property(anyUnit, (image) => {
        const result = classifyImage(image);
        expectWellFormedResult(result);
        expectTrueEcr(image, result);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("never throws on very long strings, at and around the 4096-character limit", () => {
    const long = fc.oneof(
      fc.string({ unit: "binary", minLength: 3_000, maxLength: 6_000 }),
      fc
        .tuple(ecrReference, fc.integer({ min: -8, max: 8 }), fc.constantFrom("a", "/", ":", "-", "é"))
        .map(([{ host }, delta, fill]) => {
          const prefix = `${host}/app:`;
          return prefix + fill.repeat(MAX_REFERENCE_LENGTH + delta - prefix.length);
        }),
      fc.nat({ max: 200_000 }).map((n) => "a/".repeat(n) + "b"),
    );
    fc.assert(
      fc.property(long, (image) => {
        const result = classifyImage(image);
        expectWellFormedResult(result);
        if (image.length > MAX_REFERENCE_LENGTH) expect(result.kind).toBe("invalid");
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  it("accepts a repository name of up to 255 characters and refuses one character more", () => {
    fc.assert(
      fc.property(ecrReference, fc.integer({ min: 230, max: 280 }), ({ host }, nameLength) => {
        // host + "/" + "r/rr..." padded to exactly nameLength characters.
        const path = "r/" + "r".repeat(Math.max(1, nameLength - host.length - 3));
        const name = `${host}/${path}`;
        fc.pre(name.length === nameLength);
        const result = classifyImage(`${name}:v1`);
        expect(result.kind).toBe(nameLength <= 255 ? "ecr" : "invalid");
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});
