/**
 * A rule that keeps `npm run test:property:long` passing: every property test's timeout grows with
 * `DATAFLARE_PROPERTY_RUNS` (`timeoutFor`), none is a fixed number that a long run outgrows (the
 * CSV→PostgreSQL test had 120 s and failed at 2,000 runs).
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { timeoutFor } from "../../property-tests/support/effectProperty.ts"

const root = resolve(import.meta.dirname, "../..")

const propertyTests = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? propertyTests(join(dir, e.name)) : e.name.endsWith(".prop.test.ts") ? [join(dir, e.name)] : []
  )

describe("property test timeouts", () => {
  it("grow with the number of runs", () => {
    assert.strictEqual(timeoutFor(60, 1_000, 120_000), 120_000)
    assert.strictEqual(timeoutFor(2_000, 1_000, 120_000), 2_060_000)
    assert.isAbove(timeoutFor(5_000, 50, 60_000), timeoutFor(300, 50, 60_000))
  })

  it("every property test that draws numRuns sets its timeout with timeoutFor, never a fixed number", () => {
    const files = propertyTests(resolve(root, "property-tests"))
    assert.isAbove(files.length, 3)
    for (const file of files) {
      const text = readFileSync(file, "utf8")
      const name = relative(root, file)
      assert.notMatch(text, /timeout:\s*[0-9]/, `${name}: a fixed timeout`)
      assert.notMatch(text, /^\s*[)}]+,\s*[0-9][0-9_]*\)\s*$/m, `${name}: a fixed timeout`)
      if (/\bnumRuns\(/.test(text)) assert.match(text, /\btimeoutFor\(/, `${name}: draws numRuns but its timeout does not grow with it`)
    }
  })
})
