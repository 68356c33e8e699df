import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The end-to-end suite needs a real control plane: `npm run test:e2e`.
    exclude: [...configDefaults.exclude, "test/e2e/**"],
    // Stand-ins listen on loopback; the SDK must never try the instance-metadata address.
    env: {
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ACCESS_KEY_ID: "AKIDTESTTESTTESTTEST",
      AWS_SECRET_ACCESS_KEY: "test-secret-key-not-real",
      AWS_REGION: "us-east-1",
    },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
  },
});
