/**
 * Values never change silently (issue 12, item 7), from the CLI: a CSV number beyond a double
 * (`1e999`, once Infinity then null), an impossible date (`2024-02-30`, once March 1), an NDJSON
 * integer beyond 2^53 (once rounded) and an NDJSON number beyond a double (once null) each fail
 * the run with exit 3, naming file:line:column and the field, and nothing of that record or after
 * it is written. The leniency a user may ask for is explicit: `big_integers: string` reads the
 * integer exactly.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "./support.ts"

/** A workflow reading `file` with `source` (the `type` and `config` of the source) into out.ndjson. */
const workflow = (source: string) =>
  `name: values\nsources:\n  orders: ${source}\ndestinations:\n  out: { type: ndjson, inputs: [orders], config: { path: out.ndjson } }\n`

const typedCsv = (path: string) => `{ type: csv, config: { path: ${path}, columns: { id: integer, amount: number, day: timestamp } } }`

const cases = [
  {
    what: "a CSV number beyond a double",
    file: "a.csv",
    text: "id,amount,day\n1,5,2024-02-29\n2,1e999,2024-03-01\n3,7,2024-03-02\n",
    source: typedCsv("a.csv"),
    error: `a.csv:3:2: field 'amount': the number is beyond the range of a double (about ±1.8e308): "1e999"`
  },
  {
    what: "an impossible CSV date",
    file: "b.csv",
    text: "id,amount,day\n1,5,2024-02-29\n2,7,2024-02-30\n3,7,2024-03-02\n",
    source: typedCsv("b.csv"),
    error: `b.csv:3:3: field 'day': no such date or time: "2024-02-30"`
  },
  {
    what: "an NDJSON integer beyond 2^53",
    file: "c.ndjson",
    text: '{"id":1,"n":5}\n{"id":2,"n":9007199254740993}\n{"id":3,"n":7}\n',
    source: "{ type: ndjson, config: { path: c.ndjson } }",
    error: "c.ndjson:2:13: field 'n': the integer 9007199254740993 is beyond ±(2^53 − 1) and would be read as 9007199254740992"
  },
  {
    what: "an NDJSON number beyond a double",
    file: "d.ndjson",
    text: '{"id":1,"n":5}\n{"id":2,"n":1e999}\n{"id":3,"n":7}\n',
    source: "{ type: ndjson, config: { path: d.ndjson } }",
    error: "d.ndjson:2:13: field 'n': the number 1e999 is beyond the range of a double (about ±1.8e308)"
  }
] as const

describe("values never change silently (process)", () => {
  it.live("a number beyond a double, an impossible date, an integer beyond 2^53: exit 3 naming file:line:column and field, nothing written from that record on", () =>
    Effect.scoped(Effect.gen(function*() {
      const results = yield* Effect.forEach(cases, (c) =>
        Effect.gen(function*() {
          const dir = yield* tempDir
          writeFileSync(join(dir, c.file), c.text)
          writeFileSync(join(dir, "wf.yaml"), workflow(c.source))
          const result = yield* cli(["run", "wf.yaml", "--quiet"], { cwd: dir })
          const out = join(dir, "out.ndjson")
          return { ...c, result, written: existsSync(out) ? readFileSync(out, "utf8") : "" }
        }), { concurrency: 2 })
      for (const { error, result, what, written } of results) {
        assert.strictEqual(result.status, 3, `${what}: ${result.stderr}`)
        assert.include(result.stderr, `error: node 'orders' failed: ${error}`, what)
        assert.notMatch(written, /"id":"?[23]"?/, `${what}: the record and what follows it are not written`)
      }
    })))

  it.live("big_integers: string is the explicit leniency: the integer is read exactly", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      writeFileSync(join(dir, "c.ndjson"), cases[2].text)
      writeFileSync(join(dir, "wf.yaml"), workflow("{ type: ndjson, config: { path: c.ndjson, big_integers: string } }"))
      const result = yield* cli(["run", "wf.yaml", "--quiet"], { cwd: dir })
      assert.strictEqual(result.status, 0, result.stderr)
      assert.include(readFileSync(join(dir, "out.ndjson"), "utf8"), '"n":"9007199254740993"')
    })))
})
