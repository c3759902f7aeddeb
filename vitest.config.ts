import { defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

export default defineConfig({
  // Tests import `dataflare` (as the examples and fixtures do) from the sources, not from dist/:
  // the `dataflare-source` condition of package.json `exports`.
  ssr: { resolve: { conditions: ["dataflare-source", ...defaultServerConditions] } },
  test: {
    include: ["test/**/*.test.ts", "property-tests/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks"
  }
})
