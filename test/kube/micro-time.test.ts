import { describe, expect, it } from "vitest";
import { microTime } from "../../src/kube/micro-time.js";
import { loadApiStatus } from "../support/fixtures.js";

describe("MicroTime", () => {
  it("has exactly six fractional digits, as the API server parses it", () => {
    const ms = Date.parse("2026-11-29T06:28:10.793Z");
    expect(String(microTime(ms))).toBe("2026-11-29T06:28:10.793000Z");
    expect(String(microTime(Date.parse("2026-01-01T00:00:00Z")))).toBe("2026-01-01T00:00:00.000000Z");
  });

  it("is the form of a Lease the 1.36 API server stored", () => {
    const stored = loadApiStatus("201-lease-created.json");
    const ms = Date.parse(stored.spec.renewTime);
    expect(String(microTime(ms))).toBe(stored.spec.renewTime);
  });
});
