/**
 * Lazy conversion in the CSV range threads (`lazyLines.ts`): where it applies (a chain ending in
 * an `ndjson` sink, at most one `filter` that does not read the record as a whole, a layout whose
 * records `recordJson` writes in column order), and whole runs through it giving what a serial
 * run gives — the same lines and per-node counts, the same error for a value that does not
 * convert and for a filter that fails at run time. The byte-for-byte comparison with the record
 * path on generated files is property-tests/LazyLines.prop.test.ts.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Yaml from "../../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../../src/Builtins.ts"
import { makeLayout } from "../../../src/connectors/csv/internal/columns.ts"
import type { RangeWorkerData } from "../../../src/connectors/csv/internal/range.ts"
import { NodeError, RecordError } from "../../../src/Errors.ts"
import { readSet } from "../../../src/expr/internal/fields.ts"
import * as Runtime from "../../../src/Runtime.ts"
import { chainOf, lazyOf } from "../../../src/workers/internal/rangeChain.ts"
import { tempDir } from "./support.ts"

const typed = { id: "integer", amount: "number", flag: "boolean", at: "timestamp" } as const

const dataOf = (names: ReadonlyArray<string>, columns: { readonly [name: string]: "integer" | "number" | "boolean" | "timestamp" | "json" }, conditions: ReadonlyArray<string>, encode: "ndjson" | "records" = "ndjson"): RangeWorkerData => ({
  path: "unused.csv",
  delimiter: ",",
  layout: makeLayout(names, columns, undefined),
  headerEnd: 0,
  size: 0,
  index: 0,
  count: 1,
  starts: new SharedArrayBuffer(16),
  chunkSize: 4096,
  maxRecordBytes: 1024,
  invalidUtf8: "error",
  setAside: false,
  fused: conditions.map((condition, i) => ({ node: `keep${i}`, type: "filter", config: { condition } })),
  encode: encode === "ndjson" ? "ndjson" : undefined
})

const applies = (data: RangeWorkerData): boolean => lazyOf(data, data.fused.length > 0 ? chainOf(data.fused) : undefined) !== undefined

describe("lazy conversion in the CSV range threads", () => {
  it("readSet names the root fields, `$.x` and `$['x']` among them, and reports use of the record as a whole", () => {
    assert.deepStrictEqual(readSet("amount < 500 && $.flag && $['at'] != null"), {
      fields: [{ name: "amount", column: 1 }, { name: "flag", column: 19 }, { name: "at", column: 29 }],
      wholeRecord: false
    })
    assert.isTrue(readSet("$[lower('ID')] > 3")?.wholeRecord)
    assert.isTrue(readSet("length($) > 2")?.wholeRecord)
    assert.isTrue(readSet("$ != null")?.wholeRecord)
    assert.isTrue(readSet("$[0] == 1")?.wholeRecord)
    assert.isFalse(readSet("address.city == 'x'")?.wholeRecord)
    assert.isUndefined(readSet("amount <"))
  })

  it("applies only where it is sound", () => {
    const names = ["id", "amount", "flag", "at", "city"]
    assert.isTrue(applies(dataOf(names, typed, ["amount < 500"])), "a filter on a typed column")
    assert.isTrue(applies(dataOf(names, typed, [])), "nothing between the source and the sink")
    assert.isTrue(applies(dataOf(names, typed, ["$.amount < 500 || $['city'] == 'x'"])), "$ naming fields")
    assert.isFalse(applies(dataOf(names, typed, ["$[lower('AMOUNT')] < 500"])), "a field named at run time")
    assert.isFalse(applies(dataOf(names, typed, ["amount < 500", "flag"])), "two fused nodes")
    assert.isFalse(applies(dataOf(names, typed, ["amount < 500"], "records")), "records handed on, not lines")
    assert.isFalse(applies(dataOf([...names, "1"], typed, ["amount < 500"])), "an integer-like name comes first in a record")
    assert.isFalse(applies(dataOf([...names, "id"], typed, ["amount < 500"])), "a duplicate column")
    assert.isFalse(applies(dataOf([...names, "toJSON"], typed, ["amount < 500"])), "a toJSON column")
    assert.isFalse(applies(dataOf([...names, "doc"], { ...typed, doc: "json" }, ["amount < 500"])), "a json column")
  })

  const header = "id,amount,flag,at,city\n"
  const row = (i: number) =>
    `${i % 50 === 0 ? `+${i}` : i},${i % 7 === 0 ? "" : i % 11 === 0 ? `${i}.50` : (i * 1.25).toString()},${i % 3 === 0 ? "TRUE" : "false"},${
      i % 5 === 0 ? `2026-01-0${(i % 9) + 1}` : `2026-01-0${(i % 9) + 1}T0${i % 10}:15:00${i % 2 === 0 ? "Z" : ".5+02:00"}`
    },${i % 13 === 0 ? `"Lyon, ""old"""` : "Paris"}\n`
  const rows = (n: number, bad?: { readonly at: number; readonly text: string }) =>
    header + Array.from({ length: n }, (_, i) => (bad !== undefined && i === bad.at ? bad.text : row(i))).join("")

  const workflow = (input: string, output: string, parallelism: number, condition: string) =>
    Yaml.parse(
      `
name: lazy
execution: { batch_size: 64 }
sources:
  in:
    type: csv
    parallelism: ${parallelism}
    config: { path: "${input}", columns: ${JSON.stringify(typed)} }
transformations:
  keep: { type: filter, inputs: [in], config: { condition: ${JSON.stringify(condition)} } }
destinations:
  out: { type: ndjson, inputs: [keep], config: { path: "${output}" } }
`,
      { file: "lazy.yaml", env: {} }
    )

  const lines = (path: string) => readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0)
  const counts = (s: Runtime.RunSummary) => s.nodes.map((n) => [n.id, n.recordsIn, n.recordsOut])

  it.effect("a run at parallelism 3 writes the lines and counts of a serial run", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const input = join(dir, "in.csv")
      writeFileSync(input, rows(3000))
      for (const condition of ["amount < 900 && flag", "id % 4 == 0 || flag || $.at == null"]) {
        const serial = yield* Runtime.run(yield* workflow(input, join(dir, "s.ndjson"), 1, condition))
        const parallel = yield* Runtime.run(yield* workflow(input, join(dir, "p.ndjson"), 3, condition))
        const want = lines(join(dir, "s.ndjson"))
        assert.isAbove(want.length, 100, condition)
        assert.isBelow(want.length, 3000, condition)
        assert.deepStrictEqual(lines(join(dir, "p.ndjson")).sort(), want.sort(), condition)
        assert.deepStrictEqual(counts(parallel), counts(serial), condition)
      }
    }).pipe(Effect.provide(Builtins.layer))))

  const failureOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
    if (!Exit.isFailure(exit)) return "succeeded"
    const reason = exit.cause.reasons.find((r) => r._tag === "Fail" || r._tag === "Die")
    const error = reason === undefined ? undefined : reason._tag === "Fail" ? reason.error : reason.defect
    if (error instanceof NodeError) {
      const cause = error.cause
      return { node: error.node, detail: cause instanceof RecordError ? cause.detail : String(cause), record: cause instanceof RecordError ? cause.record : undefined }
    }
    if (error instanceof RecordError) return { detail: error.detail, location: error.location, field: error.field, record: error.record }
    return String(error)
  }

  it.effect("a value that does not convert, or a filter failing on a row, fails the run as a serial run fails", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const cases = [
        { bad: { at: 2500, text: "2500,12.5,false,2026-02-30T00:00:00Z,Paris\n" }, condition: "amount < 900" },
        { bad: { at: 2500, text: "2500,1e999,false,2026-01-01,Paris\n" }, condition: "amount < 900" },
        { bad: { at: 2500, text: "2500,12.5,maybe,2026-01-01,Paris\n" }, condition: "amount < 900" },
        { bad: { at: 2500, text: "25x0,12.5,false,2026-01-01,Paris\n" }, condition: "amount < 900" },
        // values a double or a Date would change: refused, not cut
        { bad: { at: 2500, text: "2500,9007199254740993,false,2026-01-01,Paris\n" }, condition: "amount < 900" },
        { bad: { at: 2500, text: "2500,12.5,false,2026-01-01T10:20:30.123456Z,Paris\n" }, condition: "amount < 900" },
        { bad: undefined, condition: "id < 2500 || city > 3" }
      ]
      for (const c of cases) {
        const input = join(dir, "in.csv")
        writeFileSync(input, rows(3000, c.bad))
        const serial = failureOf(yield* Effect.exit(Runtime.run(yield* workflow(input, join(dir, "s.ndjson"), 1, c.condition))))
        const parallel = failureOf(yield* Effect.exit(Runtime.run(yield* workflow(input, join(dir, "p.ndjson"), 3, c.condition))))
        assert.notStrictEqual(serial, "succeeded", c.condition)
        assert.deepStrictEqual(parallel, serial, JSON.stringify(c))
      }
    }).pipe(Effect.provide(Builtins.layer))))
})
