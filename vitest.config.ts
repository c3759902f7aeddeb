import { defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

export default defineConfig({
  // Tests import `dataflare` (as the examples and fixtures do) from the sources, not from dist/:
  // the `dataflare-source` condition of package.json `exports`. Without the bundler-only `module`
  // condition: vitest hands the conditions to Node, whose `require` would then load a package's
  // ESM build from CommonJS (@elastic/transport's require of @opentelemetry/api fails so).
  ssr: { resolve: { conditions: ["dataflare-source", ...defaultServerConditions.filter((c) => c !== "module")] } },
  test: {
    include: ["test/**/*.test.ts", "property-tests/**/*.test.ts"],
    // the servers the tests need are up and PostgreSQL is configured, or the run stops at once
    // saying what to run (test/setup/services.ts)
    globalSetup: ["test/setup/services.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks"
  }
})
