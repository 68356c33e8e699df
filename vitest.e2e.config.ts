import { defineConfig } from "vitest/config";

/**
 * The end-to-end suite: the shipped bundle against a real kube-apiserver, etcd and
 * kube-controller-manager on loopback (see test/e2e/support/global-setup.ts). One control plane for
 * all files, one file at a time: each installs the one webhook configuration the API server calls.
 */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    globalSetup: ["test/e2e/support/global-setup.ts"],
    fileParallelism: false,
    // The AWS SDK in the test process itself (the stand-in's clients) never looks for real credentials.
    env: {
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ACCESS_KEY_ID: "AKIDTESTTESTTESTTEST",
      AWS_SECRET_ACCESS_KEY: "test-secret-key-not-real",
      AWS_REGION: "us-east-1",
    },
    testTimeout: 90_000,
    hookTimeout: 180_000,
    pool: "forks",
  },
});
