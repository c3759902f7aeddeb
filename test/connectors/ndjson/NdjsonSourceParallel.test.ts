/**
 * The parallel `ndjson` source (`parallelism > 1`, or `auto` on a large file): each instance reads
 * one byte range of the file on a worker thread. Together the ranges hold exactly what a serial
 * read holds — the records, the lines set aside (`on_error`/`oversize: dead_letter`) and the
 * errors, with the same `file:line:column` — on hostile text (a BOM, CRLF, blank lines, multi-byte
 * characters across cuts, bytes that are not UTF-8, big integers, `-0`); a workflow run at
 * `parallelism: 2` writes the lines of a serial run, with fused nodes and the NDJSON encoded on the
 * threads; `auto` splits a large file and `plan` says so; a `schema` keeps one instance.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Yaml from "../../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../../src/Builtins.ts"
import { RecordError } from "../../../src/Errors.ts"
import { plan } from "../../../src/internal/planner.ts"
import { prepare } from "../../../src/internal/prepare.ts"
import * as PlanFormat from "../../../src/PlanFormat.ts"
import * as Runtime from "../../../src/Runtime.ts"
import { context, drain, failure, openSource, prepare as prepareConnector, sourceLetters, tempDir } from "../csv/support.ts"

/** Every instance of a `count`-way split read in turn (in range order), with the letters they set aside. */
const readSplit = (config: object, count: number, max = 7) =>
  Effect.gen(function*() {
    const records: Array<unknown> = []
    for (let instance = 0; instance < count; instance++) {
      const ctx = count > 1 ? { ...context, instance, parallelism: count } : context
      const read = yield* Effect.scoped(Effect.flatMap(openSource("ndjson", config, ctx), (r) => drain(r, max)))
      records.push(...read.records)
    }
    return records
  })

/** Lines of every kind a reader must take alike: multi-byte text, CRLF, blank lines, long lines, `-0`, numbers of every form. */
const hostileLines = (n: number): Array<string> => {
  const lines: Array<string> = []
  for (let i = 0; i < n; i++) {
    const text = i % 7 === 0 ? "ü名🙂".repeat(1 + (i % 5)) : i % 29 === 0 ? "x".repeat(5000) : `t${i}`
    const value = i % 11 === 0 ? -0 : i % 13 === 0 ? 1e21 : i * 1.5
    // (JSON.stringify writes -0 as 0: the text is written by hand)
    let line = JSON.stringify({ i, text, value: 0, nested: { a: [i, null, true] } }).replace('"value":0', `"value":${Object.is(value, -0) ? (i % 2 === 0 ? "-0" : "-0.0") : value}`)
    if (i % 19 === 0) line = ` ${line.replaceAll(":", " : ")} `
    lines.push(line + (i % 5 === 0 ? "\r\n" : "\n") + (i % 23 === 0 ? "\n \t \n" : ""))
  }
  return lines
}

const withText = <A, E>(name: string, text: string | Buffer, f: (path: string, dir: string) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.gen(function*() {
    const dir = yield* tempDir
    const path = join(dir, name)
    writeFileSync(path, text)
    return yield* f(path, dir)
  }))

describe("ndjson source, parallel", () => {
  it.effect("the ranges of a 2- and 3-way split hold exactly the records of a serial read (BOM, CRLF, blank lines, multi-byte text, -0)", () =>
    withText("in.ndjson", "\uFEFF" + hostileLines(400).join(""), (path) =>
      Effect.gen(function*() {
        const serial = yield* readSplit({ path }, 1)
        assert.strictEqual(serial.length, 400)
        for (const count of [2, 3]) {
          const split = yield* readSplit({ path }, count)
          assert.deepStrictEqual(split, serial, `${count} ranges`)
          // -0 stays -0 across the thread boundary
          assert.isTrue(Object.is((split[11] as { readonly value: number }).value, -0))
        }
      })))

  it.effect("big integers are read by the threads as the serial reader reads them (bigint, string, or an error naming the line)", () =>
    withText("big.ndjson", Array.from({ length: 120 }, (_, i) => `{"i":${i},"n":${i === 90 ? "123456789012345678901" : i}}\n`).join(""), (path) =>
      Effect.gen(function*() {
        for (const big_integers of ["bigint", "string"] as const) {
          assert.deepStrictEqual(yield* readSplit({ path, big_integers }, 2), yield* readSplit({ path, big_integers }, 1), big_integers)
        }
        const error = yield* failure(readSplit({ path }, 2))
        assert.instanceOf(error, RecordError)
        const serialError = yield* failure(readSplit({ path }, 1))
        assert.deepStrictEqual(error, serialError)
        if (error instanceof RecordError) assert.deepStrictEqual(error.location, { file: path, line: 91, column: 13 })
      })))

  it.effect("a malformed line in a later range fails as in a serial read (file, line, record)", () =>
    withText("bad.ndjson", Array.from({ length: 200 }, (_, i) => (i === 150 ? `{"i":${i},` : i === 170 ? "[1,2]" : JSON.stringify({ i }))).join("\n") + "\n", (path) =>
      Effect.gen(function*() {
        const error = yield* failure(readSplit({ path }, 2))
        const serialError = yield* failure(readSplit({ path }, 1))
        assert.instanceOf(error, RecordError)
        assert.deepStrictEqual(error, serialError)
        if (error instanceof RecordError) {
          assert.strictEqual(error.location?.line, 151)
          assert.strictEqual(error.record, '{"i":150,')
        }
      })))

  it.effect("bytes that are not UTF-8 in a later range: the same error (error) or the same U+FFFD records (replace)", () => {
    const lines = Array.from({ length: 160 }, (_, i) => Buffer.from(`{"i":${i},"s":"ab`))
    const bytes = Buffer.concat(lines.flatMap((l, i) => [l, i === 130 ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), Buffer.from(`"}\n`)]))
    return withText("latin.ndjson", bytes, (path) =>
      Effect.gen(function*() {
        const error = yield* failure(readSplit({ path }, 2))
        assert.deepStrictEqual(error, yield* failure(readSplit({ path }, 1)))
        assert.instanceOf(error, RecordError)
        if (error instanceof RecordError) assert.strictEqual(error.location?.line, 131)
        const replaced = yield* readSplit({ path, invalid_utf8: "replace" }, 2)
        assert.deepStrictEqual(replaced, yield* readSplit({ path, invalid_utf8: "replace" }, 1))
        assert.strictEqual((replaced[130] as { readonly s: string }).s, "ab\uFFFD\uFFFD")
      }))
  })

  it.effect("lines set aside (on_error and oversize: dead_letter) are the serial read's, once each, in every range", () =>
    withText("mixed.ndjson", Array.from({ length: 300 }, (_, i) =>
      i % 31 === 0 ? `{"i":${i},` : i % 37 === 0 ? `"just a string ${i}"` : i % 41 === 0 ? JSON.stringify({ i, pad: "p".repeat(400) }) : JSON.stringify({ i })
    ).join("\n") + "\n", (path, dir) =>
      Effect.gen(function*() {
        const config = (letters: string) => ({ path, on_error: "dead_letter", oversize: "dead_letter", max_record_bytes: 300, dead_letter: { path: join(dir, letters) } })
        const serial = yield* readSplit(config("serial.ndjson"), 1)
        const split = yield* readSplit(config("split.ndjson"), 3)
        assert.deepStrictEqual(split, serial)
        const entries = (name: string) =>
          sourceLetters(join(dir, name)).map((e) => ({ line: e.line, column: e.column, error: e.error, record: e.record })).sort((a, b) => a.line - b.line)
        const expected = entries("serial.ndjson")
        assert.isAbove(expected.length, 15)
        assert.deepStrictEqual(entries("split.ndjson"), expected)
      })))

  it.effect("a position of a range resumes that range; one of another split is refused", () =>
    withText("seek.ndjson", Array.from({ length: 300 }, (_, i) => `${JSON.stringify({ i })}\n`).join(""), (path) =>
      Effect.scoped(Effect.gen(function*() {
        const ctx = { ...context, instance: 1, parallelism: 2 }
        const reader = yield* openSource("ndjson", { path }, ctx)
        const head = yield* reader.readBatch(20)
        assert.isDefined(head)
        const at = yield* reader.position
        assert.deepInclude(at as object, { range: { index: 1, count: 2 } })
        const again = yield* openSource("ndjson", { path }, ctx)
        yield* again.seek(at)
        const rest = (yield* drain(again, 9)).records as Array<{ readonly i: number }>
        const whole = (yield* Effect.scoped(Effect.flatMap(openSource("ndjson", { path }, ctx), (r) => drain(r, 50)))).records as Array<{ readonly i: number }>
        assert.deepStrictEqual(rest.map((r) => r.i), whole.slice(20).map((r) => r.i))
        const other = yield* openSource("ndjson", { path }, { ...context, instance: 1, parallelism: 3 })
        const refused = yield* failure(other.seek(at))
        assert.include(String(refused), "not a position of range 2 of 3 of this ndjson source")
      }))))
})

/** A workflow reading `input` (NDJSON) through a filter and a map into an `ndjson` or `csv` sink. */
const workflow = (input: string, output: string, execution: string, sink = "ndjson") =>
  Yaml.parse(
    `
name: nd-par
${execution}
sources:
  in: { type: ndjson, config: { path: "${input}" } }
transformations:
  keep: { type: filter, inputs: [in], config: { condition: "value >= 30 || i % 10 == 0" } }
destinations:
  out: { type: ${sink}, inputs: [keep], config: { path: "${output}" } }
`,
    { file: "nd.yaml", env: {} }
  )

const lines = (p: string) => readFileSync(p, "utf8").split("\n").filter((l) => l.length > 0)

describe("ndjson source, parallel, in a workflow", () => {
  it.effect("parallelism 2 writes the lines of a serial run (fused filter, NDJSON encoded on the threads), with the same counts", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const input = join(dir, "in.ndjson")
      writeFileSync(input, hostileLines(3000).join(""))
      for (const sink of ["ndjson", "csv"]) {
        const two = join(dir, `two.${sink}`)
        const one = join(dir, `one.${sink}`)
        const prepared = yield* prepare(yield* workflow(input, two, "execution: { parallelism: 2 }", sink))
        const text = PlanFormat.text(plan(prepared))
        assert.include(text, "source: in (ndjson), parallelism 2")
        assert.include(text, `encodes its records as application/x-${sink === "ndjson" ? "ndjson" : "csv-rows"} on its threads`)
        const parallel = yield* Runtime.run(yield* workflow(input, two, "execution: { parallelism: 2 }", sink))
        const serial = yield* Runtime.run(yield* workflow(input, one, "execution: { parallelism: 1 }", sink))
        const a = lines(two)
        const s = lines(one)
        assert.isAbove(s.length, 1500)
        if (sink === "csv") assert.strictEqual(a[0], s[0], "the header")
        assert.deepStrictEqual([...a].sort(), [...s].sort(), sink)
        // -0 written as -0 by the threads, as by the sink
        if (sink === "ndjson") assert.isTrue(a.some((l) => l.includes('"value":-0')))
        const counts = (r: Runtime.RunSummary) => r.nodes.map((n) => [n.id, n.recordsIn, n.recordsOut])
        assert.deepStrictEqual(counts(parallel), counts(serial))
      }
    }).pipe(Effect.provide(Builtins.layer))), 120_000)

  it.effect("auto reads a large file in ranges (plan says so), a small one once", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const big = join(dir, "big.ndjson")
      const small = join(dir, "small.ndjson")
      // about 11 MiB: at least two ranges' worth (5 MiB each) on any machine of 2 cores or more
      writeFileSync(big, Array.from({ length: 110_000 }, (_, i) => `${JSON.stringify({ i, value: i % 100, text: "x".repeat(80) })}\n`).join(""))
      writeFileSync(small, hostileLines(50).join(""))
      assert.isAbove(statSync(big).size, 10 * 1024 * 1024)
      const expected = Math.min(availableParallelism(), Math.floor(statSync(big).size / (5 * 1024 * 1024)))
      const bigPlan = PlanFormat.text(plan(yield* prepare(yield* workflow(big, join(dir, "b.ndjson"), ""))))
      assert.include(bigPlan, `source: in (ndjson), parallelism ${expected} (auto)`)
      const smallPlan = PlanFormat.text(plan(yield* prepare(yield* workflow(small, join(dir, "s.ndjson"), ""))))
      assert.include(smallPlan, "source: in (ndjson), parallelism 1 (auto)")
      const auto = yield* Runtime.run(yield* workflow(big, join(dir, "b.ndjson"), ""))
      const serial = yield* Runtime.run(yield* workflow(big, join(dir, "s1.ndjson"), "execution: { parallelism: 1 }"))
      assert.deepStrictEqual(lines(join(dir, "b.ndjson")).sort(), lines(join(dir, "s1.ndjson")).sort())
      assert.strictEqual(auto.nodes.find((n) => n.id === "out")?.recordsIn, serial.nodes.find((n) => n.id === "out")?.recordsIn)
    }).pipe(Effect.provide(Builtins.layer))), 120_000)

  it("a source with a schema (a function, which cannot cross to a thread) runs one instance; without, no limit", () => {
    const withSchema = prepareConnector("source", "ndjson", { path: "in.ndjson", schema: Schema.Struct({ i: Schema.Number }) })
    assert.strictEqual(withSchema._tag, "PreparedSource")
    if (withSchema._tag === "PreparedSource") {
      assert.strictEqual(withSchema.capabilities.maxParallelism, 1)
      assert.isUndefined(withSchema.capabilities.autoParallelism)
    }
    const plain = prepareConnector("source", "ndjson", { path: "in.ndjson" })
    if (plain._tag === "PreparedSource") assert.isUndefined(plain.capabilities.maxParallelism)
  })

  it.effect("csv sink: records of other fields or order, and uniform batches of other columns, are written (or refused) exactly as a serial run does", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const input = join(dir, "mixed.ndjson")
      const a = (i: number) => (i % 9 === 0 ? `a, "quoted"\nü名 ${i}` : i % 9 === 1 ? "" : `a${i}`)
      const b = (i: number): unknown => (i % 5 === 0 ? null : i % 5 === 1 ? i % 2 === 0 : i % 5 === 2 ? i * 1.25 : i % 5 === 3 ? 1e21 : `b${i}`)
      const text: Array<string> = []
      for (let i = 0; i < 8000; i++) {
        // the first lines of each half hold i, a, b; then: a block of uniform batches with a field c
        // more (not a column: refused), records in another order, records without b
        let line = JSON.stringify({ i, a: a(i), b: b(i) })
        if (i >= 5000 && i < 6500) line = JSON.stringify({ i, a: a(i), b: b(i), c: i % 3 === 0 ? -1.5 : "c" })
        else if (i % 97 === 0 && i > 100) line = JSON.stringify({ b: b(i), a: a(i), i })
        else if (i % 89 === 0 && i > 100) line = JSON.stringify({ i, a: a(i) })
        if (i % 10 === 3) line = line.replace('"b":null', '"b":-0')
        text.push(line)
      }
      writeFileSync(input, text.join("\n") + "\n")
      const run = (name: string, execution: string) =>
        Yaml.parse(
          `
name: nd-csv
execution: { ${execution} batch_size: 200 }
sources:
  in: { type: ndjson, config: { path: "${input}" } }
destinations:
  out:
    type: csv
    inputs: [in]
    config: { path: "${join(dir, `${name}.csv`)}", on_error: dead_letter, dead_letter: { path: "${join(dir, `${name}.letters.ndjson`)}" } }
`,
          { file: "nd.yaml", env: {} }
        )
      const two = yield* Runtime.run(yield* run("two", "parallelism: 2,"))
      const one = yield* Runtime.run(yield* run("one", "parallelism: 1,"))
      const t = lines(join(dir, "two.csv"))
      const o = lines(join(dir, "one.csv"))
      assert.strictEqual(t[0], "i,a,b")
      assert.strictEqual(t[0], o[0])
      assert.isAbove(o.length, 6500)
      assert.deepStrictEqual([...t].sort(), [...o].sort())
      // the refused records, as they were read: numbers, booleans, null, -0 and text alike
      const letters = (name: string) =>
        readFileSync(join(dir, `${name}.letters.ndjson`), "utf8").split("\n").filter((l) => l.length > 0)
          .map((l) => JSON.stringify((JSON.parse(l) as { readonly record: unknown }).record)).sort()
      const refused = letters("one")
      assert.strictEqual(refused.length, 1500)
      assert.deepStrictEqual(letters("two"), refused)
      const out = (r: Runtime.RunSummary) => r.nodes.find((n) => n.id === "out")
      assert.deepStrictEqual([out(two)?.recordsIn, out(two)?.recordsOut], [out(one)?.recordsIn, out(one)?.recordsOut])
    }).pipe(Effect.provide(Builtins.layer))), 120_000)
})
