/**
 * A rule that keeps `npm run test:property:long` (and `npm run fuzz`, and a suite run with
 * `DATAFLARE_PROPERTY_RUNS` set) passing: every property test's timeout grows with
 * `DATAFLARE_PROPERTY_RUNS` (`timeoutFor`), none is a fixed number that a long run outgrows (the
 * CSV→PostgreSQL test had 120 s and failed at 2,000 runs) — in property-tests/ and in test/ alike.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { timeoutFor } from "../../property-tests/support/effectProperty.ts"

const root = resolve(import.meta.dirname, "../..")

const testFiles = (dir: string, suffix: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name), suffix) : e.name.endsWith(suffix) ? [join(dir, e.name)] : []
  )

const propertyTests = (dir: string): Array<string> => testFiles(dir, ".prop.test.ts")

/** The tests of a file's text: from one `it(`/`it.effect(`/`test(`... to the next. */
const testBlocks = (text: string): ReadonlyArray<string> => text.split(/^\s*(?:it|test)(?:\.\w+)*\(/m).slice(1)

/** The problems of one test file with the rule (empty: none). */
const propertyRunProblems = (text: string): ReadonlyArray<string> => {
  const problems: Array<string> = []
  // the environment is read in one place (numRuns), so the count a test draws is the one its timeout is for
  if (/process\.env\.DATAFLARE_PROPERTY_RUNS/.test(text)) problems.push("reads DATAFLARE_PROPERTY_RUNS itself instead of numRuns()")
  testBlocks(text).forEach((block, i) => {
    // a run count from the environment (numRuns(...), or a variable holding one); a literal count is fixed
    const drawsRuns = /\bnumRuns\(/.test(block) || /\bnumRuns:\s*(?![0-9])[A-Za-z_(]/.test(block)
    if (drawsRuns && !/\btimeoutFor\(/.test(block)) problems.push(`test ${i + 1} draws numRuns but its timeout does not grow with it`)
  })
  return problems
}

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

  it("every test in test/ and property-tests/ whose run count comes from DATAFLARE_PROPERTY_RUNS has a timeout that grows with it", () => {
    const files = [...testFiles(resolve(root, "test"), ".test.ts"), ...propertyTests(resolve(root, "property-tests"))]
      .filter((file) => !file.endsWith("PropertyTimeouts.test.ts"))
    const checked = files.filter((file) => /\bnumRuns\b|DATAFLARE_PROPERTY_RUNS/.test(readFileSync(file, "utf8")))
    assert.isAbove(checked.length, 8)
    for (const file of checked) assert.deepStrictEqual(propertyRunProblems(readFileSync(file, "utf8")), [], relative(root, file))
  })

  it("the rule finds a test without a growing timeout, and a direct read of the environment", () => {
    const fixed = `it("a", () => {\n  fc.assert(p, { numRuns: runs })\n}, 120_000)\nit("b", () => {\n  fc.assert(p, { numRuns: 20 })\n})\n`
    assert.deepStrictEqual(propertyRunProblems(fixed), ["test 1 draws numRuns but its timeout does not grow with it"])
    const grows = `const runs = numRuns(40)\nit("a", () => {\n  fc.assert(p, { numRuns: runs })\n}, timeoutFor(runs, 10, 60_000))\n`
    assert.deepStrictEqual(propertyRunProblems(grows), [])
    assert.deepStrictEqual(propertyRunProblems(`it("a", () => {\n  fc.assert(p, { numRuns: Number(process.env.DATAFLARE_PROPERTY_RUNS ?? 5) })\n})\n`), [
      "reads DATAFLARE_PROPERTY_RUNS itself instead of numRuns()",
      "test 1 draws numRuns but its timeout does not grow with it"
    ])
  })
})
