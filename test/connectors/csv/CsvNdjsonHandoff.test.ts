/**
 * A parallel `csv` source whose only consumer (after the nodes fused into it) is an `ndjson` sink:
 * its range threads encode the records as NDJSON lines and hand the main thread the bytes
 * (`Batch.NdjsonEncoded`), which the sink writes as they are. The lines must be exactly those the
 * sink writes from the records (timestamps, nulls, quoted fields with line breaks, CRLF,
 * multibyte text at range cuts), the plan says so, the per-node counts are a serial run's, records
 * over the size limit go to the dead letters as in a serial run, and a run killed with SIGKILL and
 * resumed writes every record exactly once.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Yaml from "../../../dsl/yaml/Yaml.ts"
import * as Batch from "../../../src/Batch.ts"
import * as Builtins from "../../../src/Builtins.ts"
import type { OpenContext } from "../../../src/Connector.ts"
import { toJsonText } from "../../../src/internal/jsonText.ts"
import { plan } from "../../../src/internal/planner.ts"
import { prepare } from "../../../src/internal/prepare.ts"
import * as Runtime from "../../../src/Runtime.ts"
import { killAt, start } from "../../cli/killRun.ts"
import { openSource, readAll, tempDir } from "./support.ts"

/** Rows with quoted fields, doubled quotes, line breaks (LF, CRLF) in values, multibyte text, empty typed fields. */
const rows = Array.from({ length: 900 }, (_, i) => ({
  id: i,
  text: i % 5 === 0 ? `multi\nline "q", ü🙂 ${i}` : i % 7 === 0 ? `crlf\r\ninside ${i}` : `t${i} 日本`,
  n: i % 3 === 0 ? "" : String(i * 1.5),
  at: i % 4 === 0 ? "" : `2026-01-${String((i % 28) + 1).padStart(2, "0")}T10:00:00Z`,
  ok: i % 2 === 0 ? "true" : "false"
}))
const fileText = "id,text,n,at,ok\r\n" +
  rows.map((r) => `${r.id},"${r.text.replaceAll('"', '""')}",${r.n},${r.at},${r.ok}\r\n`).join("")
const columns = { id: "integer", text: "string", n: "number", at: "timestamp", ok: "boolean" }

const ctx = (instance: number, parallelism: number): OpenContext => ({
  node: "in",
  batchSize: 1000,
  instance,
  parallelism,
  encoding: "application/x-ndjson"
})

const lines = (text: string) => text.split("\n").filter((l) => l.length > 0)

describe("csv source → ndjson sink: NDJSON encoded in the range threads", () => {
  it.effect("every batch of a range reader carries NDJSON bytes equal to the records' lines; decoding gives them back", () =>
    Effect.scoped(Effect.gen(function*() {
      const path = join(yield* tempDir, "in.csv")
      writeFileSync(path, fileText)
      const serial = yield* readAll("csv", { path, columns })
      const expected = serial.map((r) => toJsonText(r))
      for (const count of [2, 3, 5]) {
        const got: Array<string> = []
        for (let i = 0; i < count; i++) {
          const reader = yield* openSource("csv", { path, columns }, ctx(i, count))
          for (;;) {
            const batch = yield* reader.readBatch(7)
            if (batch === undefined) break
            const encoded = Batch.encodedOf(batch)
            assert.strictEqual(encoded?.format, "application/x-ndjson", "the records come as bytes")
            const text = Buffer.from(encoded!.bytes).toString("utf8")
            assert.isTrue(text.endsWith("\n"))
            assert.strictEqual(lines(text).length, Batch.size(batch))
            got.push(...lines(text))
            // something that reads the records gets them parsed back from the lines
            assert.deepStrictEqual(Batch.toArray(batch).map((r) => toJsonText(r)), lines(text))
          }
        }
        // ranges in order, records in file order within each: the serial read's lines
        assert.deepStrictEqual(got, expected, `${count} ranges`)
      }
    })))

  const workflow = (input: string, output: string, parallelism: number, chain: boolean) =>
    Yaml.parse(
      `
name: handoff
execution: { batch_size: 40 }
sources:
  in:
    type: csv
    parallelism: ${parallelism}
    config: { path: "${input}", columns: ${JSON.stringify(columns)} }
${
        chain
          ? `transformations:
  keep:
    type: filter
    inputs: [in]
    config: { condition: "id % 3 != 1" }
  shape:
    type: map
    inputs: [keep]
    config: { fields: { id: "id", text: "text", half: "n / 2", at: "at" } }
`
          : ""
      }destinations:
  out:
    type: ndjson
    inputs: [${chain ? "shape" : "in"}]
    config: { path: "${output}" }
`,
      { file: "handoff.yaml", env: {} }
    )

  for (const chain of [true, false]) {
    it.effect(`a run at parallelism 3 ${chain ? "with a fused filter and map" : "with nothing between"} writes the lines of a serial run`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const input = join(dir, "in.csv")
        writeFileSync(input, fileText)
        const planned = plan(yield* prepare(yield* workflow(input, join(dir, "p.ndjson"), 3, chain)))
        const source = planned.tasks.find((t) => t.id === "in")
        assert.strictEqual(source?._tag === "Source" ? source.encoding : undefined, "application/x-ndjson")
        const serialPlan = plan(yield* prepare(yield* workflow(input, join(dir, "s.ndjson"), 1, chain)))
        const serialSource = serialPlan.tasks.find((t) => t.id === "in")
        assert.strictEqual(serialSource?._tag === "Source" ? serialSource.encoding : "", undefined, "a serial read hands on records")
        const serial = yield* Runtime.run(yield* workflow(input, join(dir, "s.ndjson"), 1, chain))
        const parallel = yield* Runtime.run(yield* workflow(input, join(dir, "p.ndjson"), 3, chain))
        const out = (name: string) => lines(readFileSync(join(dir, name), "utf8"))
        assert.strictEqual(out("s.ndjson").length, chain ? 600 : 900)
        assert.deepStrictEqual(out("p.ndjson").sort(), out("s.ndjson").sort())
        const counts = (s: Runtime.RunSummary) => s.nodes.map((n) => [n.id, n.recordsIn, n.recordsOut])
        assert.deepStrictEqual(counts(parallel), counts(serial))
      }).pipe(Effect.provide(Builtins.layer))))
  }

  it.effect("records over max_record_bytes go to the dead letters as in a serial run; a file with no records writes nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const big = "x".repeat(300_000)
      const filler = (from: number, n: number) => Array.from({ length: n }, (_, i) => `${from + i},t${from + i},2026-01-01`).join("\n")
      writeFileSync(join(dir, "in.csv"), `id,text,at\n${filler(1, 300)}\n301,"${big}\n${big}",2026-01-02\n${filler(302, 300)}\n602,${big},2026-01-03\n603,last,2026-01-04\n`)
      writeFileSync(join(dir, "empty.csv"), "id,text,at\n")
      const wf = (input: string, out: string, parallelism: number) =>
        Yaml.parse(
          `
name: handoff-oversize
sources:
  in:
    type: csv
    parallelism: ${parallelism}
    config:
      path: "${join(dir, input)}"
      columns: { id: integer, at: timestamp }
      max_record_bytes: 4096
      oversize: dead_letter
      dead_letter: { path: "${join(dir, `${out}.rejected.ndjson`)}" }
destinations:
  out: { type: ndjson, inputs: [in], config: { path: "${join(dir, out)}" } }
`,
          { file: "handoff-oversize.yaml", env: {} }
        )
      const planned = plan(yield* prepare(yield* wf("in.csv", "p.ndjson", 2)))
      const source = planned.tasks.find((t) => t.id === "in")
      assert.strictEqual(source?._tag === "Source" ? source.encoding : undefined, "application/x-ndjson")
      yield* Runtime.run(yield* wf("in.csv", "s.ndjson", 1))
      yield* Runtime.run(yield* wf("in.csv", "p.ndjson", 2))
      const out = (name: string) => lines(readFileSync(join(dir, name), "utf8"))
      assert.strictEqual(out("s.ndjson").length, 601)
      assert.deepStrictEqual(out("p.ndjson").sort(), out("s.ndjson").sort())
      const rejected = (name: string) => out(`${name}.rejected.ndjson`).map((l) => (JSON.parse(l) as { readonly line: number }).line).sort()
      assert.deepStrictEqual(rejected("p.ndjson"), [302, 604])
      assert.deepStrictEqual(rejected("p.ndjson"), rejected("s.ndjson"))
      yield* Runtime.run(yield* wf("empty.csv", "e.ndjson", 2))
      assert.strictEqual(readFileSync(join(dir, "e.ndjson"), "utf8"), "")
    }).pipe(Effect.provide(Builtins.layer))))

  it.live("a parallel run killed with SIGKILL twice and resumed writes every record exactly once", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const text: Array<string> = ["id,customer,amount,at"]
      for (let i = 1; i <= 300_000; i++) text.push(`${i},"cust ${i % 97}, ""${i % 5}"" ü",${(i * 37) % 500}.25,2026-02-03T04:05:06Z`)
      yield* Effect.promise(() => writeFile(join(dir, "in.csv"), text.join("\n") + "\n"))
      const yaml = (out: string) => `name: handoff-kill
execution: { batch_size: 500, checkpoint_interval: 50ms }
sources:
  in: { type: csv, parallelism: 2, config: { path: in.csv, columns: { id: integer, amount: number, at: timestamp } } }
transformations:
  keep: { type: filter, inputs: [in], config: { condition: "amount >= 50" } }
destinations:
  out: { type: ndjson, inputs: [keep], config: { path: ${out} } }
`
      yield* Effect.promise(() => writeFile(join(dir, "ref.yaml"), yaml("ref.ndjson")))
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), yaml("out.ndjson")))
      const reference = yield* Effect.scoped(Effect.flatMap(start(dir, "ref.yaml", {}), (r) => r.ended))
      assert.strictEqual(reference.code, 0, reference.stderr)
      yield* Effect.promise(() => rm(join(dir, "state"), { recursive: true, force: true }))
      const first = yield* Effect.scoped(Effect.flatMap(start(dir), (r) => killAt(dir, r, 1)))
      yield* Effect.scoped(Effect.flatMap(start(dir), (r) => killAt(dir, r, first + 3)))
      const last = yield* Effect.scoped(Effect.flatMap(start(dir), (r) => r.ended))
      assert.strictEqual(last.code, 0, last.stderr)
      const want = lines(readFileSync(join(dir, "ref.ndjson"), "utf8")).sort()
      const got = lines(readFileSync(join(dir, "out.ndjson"), "utf8")).sort()
      assert.strictEqual(got.length, want.length, "every record once")
      assert.deepStrictEqual(got, want)
    })), { timeout: 180_000 })
})
