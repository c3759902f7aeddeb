/**
 * Dead letters of a `via` Stream function declared pure and of the file and stdout sinks, in the
 * DSL (issue #16): `.via(id, fn, { pure: true })` then `.deadLetter(id, sink)` (a failed batch is
 * bisected, the records the stream fails on alone are set aside, the rest goes on in order); the
 * `ndjson` sink's config `on_error: "dead_letter", dead_letter: { to }` sends the records it cannot
 * write (a record holding itself) to that dead-letter sink; a Workflow's `via` with the options
 * form and a `csv` sink with `dead_letter: { path }`; a `worker_map` spec in `mode: batch` declared
 * pure, then `.deadLetter`; the `stdout` sink's writer. Files are read back.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Csv from "../../src/connectors/csv/index.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import * as Ndjson from "../../src/connectors/ndjson/index.ts"
import { makeWriter } from "../../src/connectors/stdout/StdoutSink.ts"
import * as Batch from "../../src/Batch.ts"
import { RecordError } from "../../src/Errors.ts"
import * as Processors from "../../src/processors/index.ts"
import { tempDir } from "../connectors/csv/support.ts"

const badRecords = fileURLToPath(new URL("../runtime/fixtures/badRecords.ts", import.meta.url))

interface Order {
  readonly id: number
  readonly amount: number
}

const orders: ReadonlyArray<Order> = Array.from({ length: 30 }, (_, i) => ({ id: i + 1, amount: i + 1 }))
const kind = (id: number) => id % 10

/** The stream fails on id % 10 === 3 (a pure function of its records). */
const vet = (rs: Stream.Stream<Order>) =>
  Stream.mapEffect(rs, (o) => (kind(o.id) === 3 ? Effect.fail(new RecordError({ detail: `order ${o.id} is refused` })) : Effect.succeed(o)))

/** A record holding itself in `twice` on id % 10 === 7. */
const shape = (o: Order): { readonly id: number; readonly twice: unknown } => {
  if (kind(o.id) !== 7) return { id: o.id, twice: o.amount * 2 }
  const loop: { id: number; twice: unknown } = { id: o.id, twice: undefined }
  loop.twice = loop
  return loop
}

const lines = (path: string) =>
  readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>)

describe("DSL: dead letters of a pure via and of the file sinks", () => {
  it.live("a Pipeline: a pure via's failures and the ndjson sink's unwritable records reach one dead-letter sink", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const p = Pipeline.from("orders", Memory.source<Order>({ records: orders }))
        .execution({ batch_size: 8 })
        .via("vet", vet, { pure: true })
        .deadLetter("bad", Ndjson.sink({ path: join(dir, "bad.ndjson") }))
        .map("shape", shape)
        .to("out", Ndjson.sink({ path: join(dir, "out.ndjson"), on_error: "dead_letter", dead_letter: { to: "bad" } }))
      const summary = yield* Pipeline.run(p).pipe(Effect.provide(Builtins.layer))
      const good = orders.filter((o) => kind(o.id) !== 3 && kind(o.id) !== 7)
      assert.deepStrictEqual(lines(join(dir, "out.ndjson")), good.map((o) => ({ id: o.id, twice: o.amount * 2 })))
      const letters = lines(join(dir, "bad.ndjson"))
      const of = (node: string) => letters.filter((l) => l.node === node)
      assert.deepStrictEqual(of("vet").map((l) => l.record), orders.filter((o) => kind(o.id) === 3))
      for (const l of of("vet")) {
        assert.strictEqual(l.tag, "RecordError")
        assert.include(String(l.error), `order ${(l.record as Order).id} is refused`)
      }
      assert.deepStrictEqual(of("out").map((l) => l.record), orders.filter((o) => kind(o.id) === 7).map((o) => ({ id: o.id, twice: "[Circular]" })))
      for (const l of of("out")) {
        assert.strictEqual(l.tag, "EncodeError")
        assert.deepStrictEqual(l.detail, { file: join(dir, "out.ndjson") })
      }
      assert.strictEqual(summary.nodes.find((n) => n.id === "vet")?.deadLetters, 3)
      assert.strictEqual(summary.nodes.find((n) => n.id === "out")?.deadLetters, 3)
    })))

  it.live("a Workflow: a pure via with on_error in its options, a csv sink with dead_letter: { path }", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const w = Workflow.make("w", { execution: { batch_size: 8 } })
        .source("orders", Memory.source<Order>({ records: orders }))
        .via("vet", ["orders"], vet, { pure: true, on_error: "dead_letter", dead_letter: { path: join(dir, "vet.rejected.ndjson") } })
        .map("shape", ["vet"], shape)
        .sink("out", ["shape"], Csv.sink({ path: join(dir, "out.csv"), on_error: "dead_letter", dead_letter: { path: join(dir, "out.rejected.ndjson") } }))
        .build()
      yield* Workflow.run(w).pipe(Effect.provide(Builtins.layer))
      const good = orders.filter((o) => kind(o.id) !== 3 && kind(o.id) !== 7)
      assert.strictEqual(readFileSync(join(dir, "out.csv"), "utf8"), "id,twice\n" + good.map((o) => `${o.id},${o.amount * 2}\n`).join(""))
      assert.deepStrictEqual(lines(join(dir, "vet.rejected.ndjson")).map((l) => l.record), orders.filter((o) => kind(o.id) === 3))
      const out = lines(join(dir, "out.rejected.ndjson"))
      assert.deepStrictEqual(out.map((l) => l.record), orders.filter((o) => kind(o.id) === 7).map((o) => ({ id: o.id, twice: "[Circular]" })))
      for (const l of out) {
        assert.strictEqual(l.node, "out")
        assert.include(String(l.error), "cannot write the record as csv")
      }
    })))

  it.live("a Pipeline: a worker_map spec's failures go to the dead-letter sink of .deadLetter after it", () =>
    Effect.gen(function*() {
      const good = Memory.list<{ readonly id: number; readonly twice: number }>(`dsl-wm-good-${process.pid}`)
      const bad = Memory.list<Pipeline.DeadLetterEnvelope>(`dsl-wm-bad-${process.pid}`)
      good.clear()
      bad.clear()
      const p = Pipeline.from("orders", Memory.source<Order>({ records: orders }))
        .execution({ batch_size: 8 })
        .via("vet", Processors.workerMapSpec<Order, { readonly id: number; readonly twice: number }>({ module: badRecords, export: "batchVet", mode: "batch", pure: true, workers: 1 }))
        .deadLetter("bad", bad.sink())
        .to("out", good.sink())
      yield* Pipeline.run(p).pipe(Effect.provide(Builtins.layer))
      assert.deepStrictEqual(good.records(), orders.filter((o) => kind(o.id) !== 3).map((o) => ({ id: o.id, twice: o.amount * 2 })))
      assert.deepStrictEqual(bad.records().map((e) => e.record), orders.filter((o) => kind(o.id) === 3))
      for (const e of bad.records()) {
        assert.strictEqual(e.node, "vet")
        assert.strictEqual(e.tag, "WorkerMapError")
        assert.include(e.error, `order ${(e.record as Order).id} is refused`)
      }
    }))

  it.live("the stdout sink writes the others and sets aside what it cannot write (csv and ndjson formats)", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const records = [{ id: 1, twice: 2 }, 5, shape({ id: 7, amount: 7 }), { id: 2, twice: 4 }]
      for (const format of ["csv", "ndjson"] as const) {
        let written = ""
        const output = {
          write: (chunk: string, done: (error?: Error | null) => void) => {
            written += chunk
            done()
            return true
          }
        }
        const path = join(dir, `${format}.rejected.ndjson`)
        const counted: Array<number> = []
        const writer = makeWriter(format, output, { on_error: "dead_letter", dead_letter: { path } }, {
          node: "print",
          batchSize: 10,
          instance: 0,
          parallelism: 1,
          onDeadLetters: (n) => counted.push(n)
        })
        const stats = yield* writer.writeBatch(Batch.make(records))
        const letters = lines(path)
        if (format === "csv") {
          assert.strictEqual(written, "id,twice\n1,2\n2,4\n")
          assert.deepStrictEqual(letters.map((l) => l.record), [5, { id: 7, twice: "[Circular]" }])
          assert.include(String(letters[0].error), "the record is a number")
        } else {
          // a bare number is a JSON line; only the record holding itself is refused
          assert.strictEqual(written, "{\"id\":1,\"twice\":2}\n5\n{\"id\":2,\"twice\":4}\n")
          assert.deepStrictEqual(letters.map((l) => l.record), [{ id: 7, twice: "[Circular]" }])
        }
        assert.deepStrictEqual(stats, { written: records.length - letters.length })
        assert.deepStrictEqual(counted, [letters.length])
        for (const l of letters) assert.strictEqual(l.node, "print")
        // without on_error the first one fails the write, quoting it
        const failing = makeWriter(format, output)
        const error = yield* Effect.flip(failing.writeBatch(Batch.make(records.slice(2))))
        assert.include(error.message, `record: {"id":7,"twice":"[Circular]"}`)
      }
    })))
})
