/**
 * The Node.js flags the container image runs the webhook with (the Dockerfile's ENTRYPOINT), so
 * that the servers measured here run as shipped. BENCH_NODE_FLAGS (space separated) replaces them,
 * to compare settings.
 */
import { imageNodeFlags } from "../../test/support/shipped-cli.js";

export const RUNTIME_FLAGS: readonly string[] =
  process.env.BENCH_NODE_FLAGS !== undefined
    ? process.env.BENCH_NODE_FLAGS.split(" ").filter(Boolean)
    : imageNodeFlags();
