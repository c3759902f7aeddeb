import { readFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"

const root = resolve(import.meta.dirname, "../..")

/** The modules `file` loads at run time (type-only imports are erased), relative ones resolved. */
const runtimeImports = (file: string): ReadonlyArray<string> => {
  const text = readFileSync(file, "utf8")
  const out: Array<string> = []
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gms)) out.push(m[1])
  for (const m of text.matchAll(/import\("([^"]+)"\)/g)) out.push(m[1])
  return out
}

describe("the range threads", () => {
  for (const program of ["csvRange.ts", "ndjsonRange.ts"]) {
    it(`${program} loads no Effect module, with or without fused processors (a thread that does starts ~100 ms later)`, () => {
    const seen = new Set<string>()
    const packages = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      for (const spec of runtimeImports(file)) {
        if (spec.startsWith(".")) visit(resolve(dirname(file), spec))
        else packages.add(spec)
      }
    }
    visit(resolve(root, "src/workers/internal", program))
    // the fused steps are part of what it loads
    assert.isTrue(seen.has(resolve(root, "src/processors/internal/steps.ts")))
    assert.isTrue(seen.has(resolve(root, "src/expr/internal/compile.ts")))
    assert.deepStrictEqual([...packages].filter((p) => !p.startsWith("node:")), [])
    })
  }
})
