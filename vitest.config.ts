import { defaultServerConditions } from "vite"
import { configDefaults, defineConfig } from "vitest/config"

export default defineConfig({
  // Tests import `dataflare` (as the examples and fixtures do) from the sources, not from dist/:
  // the `dataflare-source` condition of package.json `exports`. Without the bundler-only `module`
  // condition: vitest hands the conditions to Node, whose `require` would then load a package's
  // ESM build from CommonJS (@elastic/transport's require of @opentelemetry/api fails so).
  ssr: { resolve: { conditions: ["dataflare-source", ...defaultServerConditions.filter((c) => c !== "module")] } },
  test: {
    // the servers the tests need are up and PostgreSQL is configured, or the run stops at once
    // saying what to run (test/setup/services.ts)
    globalSetup: ["test/setup/services.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The cluster suites (runner processes, a 2 M-row table copied into PostgreSQL) run after
    // everything else, not beside it: their long transactions and killed runners' sessions made a
    // logical replication slot's creation (which waits for every running transaction) time out
    // in the CDC suites running at the same time on a loaded machine.
    projects: [
      { extends: true, test: { name: "main", include: ["test/**/*.test.ts", "property-tests/**/*.test.ts"], exclude: [...configDefaults.exclude, "test/cluster/**"], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "cluster", include: ["test/cluster/**/*.test.ts"], sequence: { groupOrder: 1 } } }
    ]
  }
})
