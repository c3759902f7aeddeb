/**
 * The parallel `csv` source (`parallelism > 1`): each instance reads one byte range of the file on
 * a worker thread. Together the ranges hold exactly the records of a serial read, in file order
 * within each range, wherever the cuts fall (inside quoted fields with line breaks, too); errors
 * name the file and the absolute line; a stray quote stops the split (the file is still read right).
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Yaml from "../../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../../src/Builtins.ts"
import type { OpenContext } from "../../../src/Connector.ts"
import { NodeError, RecordError } from "../../../src/Errors.ts"
import { plan } from "../../../src/internal/planner.ts"
import { prepare } from "../../../src/internal/prepare.ts"
import * as Runtime from "../../../src/Runtime.ts"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { drain, openSource, readAll, tempDir } from "./support.ts"

const ctx = (instance: number, parallelism: number): OpenContext => ({ node: "in", batchSize: 1000, instance, parallelism })

/** Reads every range of a `count`-way split and returns the records of each range. */
const readRanges = (config: unknown, count: number, max = 1000) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) => Effect.scoped(Effect.flatMap(openSource("csv", config, ctx(i, count)), (r) => drain(r, max))).pipe(Effect.map((r) => r.records)),
    { concurrency: "unbounded" }
  )

const withFile = <A, E>(text: string, f: (path: string) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.gen(function*() {
    const path = join(yield* tempDir, "in.csv")
    writeFileSync(path, text)
    return yield* f(path)
  }))

/** Rows with quoted fields, doubled quotes, line breaks (LF and CRLF) inside values, non-ASCII. */
const rows = Array.from({ length: 700 }, (_, i) => ({
  id: i,
  text: i % 5 === 0 ? `multi\nline "q", ü🙂 ${i}` : i % 7 === 0 ? `crlf\r\ninside ${i}` : `t${i}`,
  n: i % 3 === 0 ? "" : String(i * 1.5)
}))
const fileText = "id,text,n\r\n" + rows.map((r) => `${r.id},"${r.text.replaceAll('"', '""')}",${r.n}\r\n`).join("")
const expected = rows.map((r) => ({ id: r.id, text: r.text, n: r.n === "" ? null : Number(r.n) }))
const config = (path: string) => ({ path, columns: { id: "integer", text: "string", n: "number" } })

describe("csv source, parallel", () => {
  it.effect("the ranges of a 2-, 3- and 8-way split hold exactly the records of a serial read", () =>
    withFile(fileText, (path) =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* readAll("csv", config(path)), expected)
        for (const count of [2, 3, 8]) {
          const ranges = yield* readRanges(config(path), count, 7)
          assert.deepStrictEqual(ranges.flat(), expected, `${count} ranges`)
          assert.isTrue(ranges.filter((r) => r.length > 0).length > 1, `${count} ranges: the work is shared`)
        }
      })))

  it.effect("a cut inside a long quoted field with many line breaks", () => {
    const big = Array.from({ length: 400 }, (_, i) => `line ${i}`).join("\n")
    const text = `a,b\n1,x\n2,"${big}"\n3,y\n4,"z\r\nw"\n`
    return withFile(text, (path) =>
      Effect.gen(function*() {
        const serial = yield* readAll("csv", { path })
        assert.strictEqual(serial.length, 4)
        for (const count of [2, 3, 4, 16]) assert.deepStrictEqual((yield* readRanges({ path }, count)).flat(), serial, `${count} ranges`)
      }))
  })

  it.effect("more ranges than records, no header, an empty body", () =>
    Effect.gen(function*() {
      yield* withFile("1,a\n2,b\n", (path) =>
        Effect.gen(function*() {
          assert.deepStrictEqual((yield* readRanges({ path, header: false }, 5)).flat(), [{ c1: "1", c2: "a" }, { c1: "2", c2: "b" }])
        }))
      yield* withFile("\uFEFFa,b\n", (path) =>
        Effect.gen(function*() {
          assert.deepStrictEqual((yield* readRanges({ path }, 3)).flat(), [])
        }))
    }))

  it.effect("a record error in a later range names the file and its absolute line", () => {
    const lines = Array.from({ length: 300 }, (_, i) => (i === 250 ? `${i},"two\nlines"` : `${i},ok`))
    lines[270] = "oops,bad"
    return withFile(`id,v\n${lines.join("\n")}\n`, (path) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(readRanges({ path, columns: { id: "integer" } }, 2))
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
        assert.instanceOf(error, RecordError)
        // header line 1, rows from line 2, one extra line feed inside row 250
        assert.deepStrictEqual((error as RecordError).location, { file: path, line: 273, column: 1 })
        assert.strictEqual((error as RecordError).field, "id")
      }))
  })

  it.effect("a quote where RFC 4180 puts none (inside an unquoted field) stops the split there: the ranges still hold the serial read", () => {
    const plain = (from: number, n: number) => Array.from({ length: n }, (_, i) => `${from + i},plain`)
    const files = [
      // a stray quote in the first range: the second reads nothing, the first the whole file
      ["1,x\"y", ...plain(2, 200), '300,"p\nq"', "301,z"],
      // a stray quote a third into the file: the ranges before it split, those after it are empty
      [...plain(1, 100), "101,a\"b", ...plain(102, 200), '400,"p\nq"', "401,z"]
    ]
    return Effect.forEach(files, (lines) =>
      withFile(`a,b\n${lines.join("\n")}\n`, (path) =>
        Effect.gen(function*() {
          const serial = yield* readAll("csv", { path })
          assert.strictEqual(serial.length, lines.length)
          for (const count of [2, 3, 5]) {
            const ranges = yield* readRanges({ path }, count)
            assert.deepStrictEqual(ranges.flat(), serial, `${count} ranges`)
            assert.deepStrictEqual(ranges[count - 1], [], "the last range is empty: the split stopped before the stray quote")
          }
        })), { discard: true })
  })

  it.effect("a split whose quotes all stand where RFC 4180 puts them is not stopped by escaped quotes or CRLF", () =>
    withFile(fileText, (path) =>
      Effect.gen(function*() {
        const ranges = yield* readRanges(config(path), 3)
        assert.deepStrictEqual(ranges.flat(), expected)
        assert.isTrue(ranges.every((r) => r.length > 0), "every range reads a share")
      })))
})

const exit2error = (exit: Exit.Failure<unknown, unknown>): unknown => exit.cause.reasons.find((r) => r._tag === "Fail")?.error

for (const [index, count] of [[0, 2], [1, 2], [2, 3]] as const) {
  sourceSuite(
    `csv source conformance, range ${index + 1} of ${count}`,
    Effect.gen(function*() {
      const path = join(yield* tempDir, "in.csv")
      writeFileSync(path, fileText)
      return { open: openSource("csv", config(path), ctx(index, count)) }
    }),
    // every reader starts a thread: fewer seek targets than the default keep the suite quick
    { seekTargets: 8 }
  )
}

describe("csv source, parallel, in a workflow", () => {
  const workflow = (input: string, output: string, parallelism: number, extra = "", double = "n * 2") =>
    Yaml.parse(
      `
name: par
execution: { batch_size: 50 }
sources:
  in:
    type: csv
    parallelism: ${parallelism}
    config: { path: "${input}", columns: { id: integer, n: number } }
transformations:
  keep:
    type: filter
    inputs: [in]
    config: { condition: "id % 3 == 1${extra}" }
  shape:
    type: map
    inputs: [keep]
    config: { fields: { id: "id", double: "${double}" } }
  tail:
    type: filter
    inputs: [shape]
    parallelism: 2
    config: { condition: "id > 10" }
destinations:
  out:
    type: ndjson
    inputs: [tail]
    config: { path: "${output}" }
`,
      { file: "par.yaml", env: {} }
    )

  it.effect("fuses filter and map into the source threads; output and per-node counts equal a serial run", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const input = join(dir, "in.csv")
      writeFileSync(input, fileText)
      const lines = (p: string) => readFileSync(p, "utf8").split("\n").filter((l) => l.length > 0)
      const planned = plan(yield* prepare(yield* workflow(input, join(dir, "p.ndjson"), 2)))
      assert.deepStrictEqual(planned.chains, [["in", "keep", "shape"]], "filter and map run in the source's threads")
      assert.deepStrictEqual(planned.tasks.map((t) => t.id), ["in", "tail", "out"])
      const serial = yield* Runtime.run(yield* workflow(input, join(dir, "s.ndjson"), 1))
      const parallel = yield* Runtime.run(yield* workflow(input, join(dir, "p.ndjson"), 2))
      assert.deepStrictEqual(lines(join(dir, "p.ndjson")).sort(), lines(join(dir, "s.ndjson")).sort())
      const counts = (s: Runtime.RunSummary) => s.nodes.map((n) => [n.id, n.recordsIn, n.recordsOut])
      assert.deepStrictEqual(counts(parallel), counts(serial))
      assert.deepStrictEqual(counts(serial).find((c) => c[0] === "keep"), ["keep", 700, 233])
    }).pipe(Effect.provide(Builtins.layer))))

  it.effect("a field's expression error in a fused map names the node and the field, as a serial run does", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const input = join(dir, "in.csv")
      writeFileSync(input, fileText)
      const failure = (parallelism: number) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(Runtime.run(yield* workflow(input, join(dir, `m${parallelism}.ndjson`), parallelism, "", "upper(n)")))
          assert.isTrue(Exit.isFailure(exit))
          const error = Exit.isFailure(exit) ? exit2error(exit) : undefined
          assert.instanceOf(error, NodeError)
          assert.strictEqual((error as NodeError).node, "shape")
          const cause = (error as NodeError).cause
          assert.instanceOf(cause, RecordError)
          return { field: (cause as RecordError).field, detail: (cause as RecordError).detail }
        })
      const parallel = yield* failure(2)
      assert.strictEqual(parallel.field, "double")
      assert.match(parallel.detail, /expression `upper\(n\)`: upper\(\) expects a string, got number/)
      const serial = yield* failure(1)
      assert.strictEqual(serial.field, parallel.field)
      assert.match(serial.detail, /expression `upper\(n\)`: upper\(\) expects a string, got number/)
    }).pipe(Effect.provide(Builtins.layer))))

  it.effect("an expression error in a fused node names that node", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const input = join(dir, "in.csv")
      writeFileSync(input, fileText)
      const exit = yield* Effect.exit(Runtime.run(yield* workflow(input, join(dir, "p.ndjson"), 2, " && upper(n) == 'X'")))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit2error(exit) : undefined
      assert.instanceOf(error, NodeError)
      assert.strictEqual((error as NodeError).node, "keep")
    }).pipe(Effect.provide(Builtins.layer))))
})
