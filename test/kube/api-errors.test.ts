import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { apiFailure } from "../../src/kube/api-errors.js";

const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });

describe("apiFailure: what an operator reads when a call fails", () => {
  it.each([
    [
      "fetch's network failure names its cause",
      new TypeError("fetch failed", { cause: refused }),
      "fetch failed: connect ECONNREFUSED 127.0.0.1:6443",
    ],
    [
      "a connection tried on several addresses names the first",
      new TypeError("fetch failed", {
        cause: new AggregateError([refused, new Error("connect ENETUNREACH ::1")], ""),
      }),
      "fetch failed: connect ECONNREFUSED 127.0.0.1:6443",
    ],
    [
      "a cause with a code only",
      new TypeError("fetch failed", { cause: { code: "UND_ERR_SOCKET" } }),
      "fetch failed: UND_ERR_SOCKET",
    ],
    ["an error without a cause keeps its first line", new Error("timed out\nstack"), "timed out"],
    [
      "a cause already in the message is not repeated",
      new Error("connect ECONNREFUSED 127.0.0.1:6443", { cause: refused }),
      "connect ECONNREFUSED 127.0.0.1:6443",
    ],
  ])("%s", (_, error, message) => {
    expect(apiFailure(error)).toMatchObject({ code: undefined, message });
  });

  it("an answer from the API server is read from its Status, never from the error's own text", () => {
    const body = JSON.stringify({
      kind: "Status",
      code: 409,
      reason: "Conflict",
      message: "the object has been modified",
    });
    expect(apiFailure(new ApiException(409, "HTTP-Code: 409 … body with data", body, {}))).toMatchObject({
      code: 409,
      reason: "Conflict",
      message: "the object has been modified",
    });
  });
});
