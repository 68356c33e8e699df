/** A registry front for one test file's node cases: started before them, closed after them. */
import { afterAll, beforeAll } from "vitest";
import type { AwsStandIn } from "../../../support/aws/index.js";
import { nodeState } from "./pods.js";
import { startRegistryFront, type RegistryFront } from "./registry-front.js";

export function useRegistryFront(
  suite: { readonly aws: AwsStandIn },
  hosts: readonly string[],
): () => RegistryFront {
  let front: RegistryFront;
  beforeAll(async () => {
    const node = nodeState()!;
    front = await startRegistryFront({
      aws: suite.aws,
      hosts,
      backend: node.registryUrl,
      certsDir: node.certsDir,
    });
  });
  afterAll(async () => {
    front?.refuseAll(false);
    await front?.close();
  });
  return () => front;
}
