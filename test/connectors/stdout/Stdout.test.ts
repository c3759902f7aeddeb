import { spawnSync } from "node:child_process"
import { resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { makeWriter, type Output } from "../../../src/connectors/stdout/StdoutSink.ts"
import { configIssues, failure } from "../csv/support.ts"

/** An output that records each write and acknowledges it. */
const recording = (fail?: Error) => {
  const writes: Array<string> = []
  const output: Output = {
    write: (chunk, callback) => {
      writes.push(chunk)
      setImmediate(() => callback(fail ?? null))
      return true
    }
  }
  return { writes, output }
}

describe("stdout sink", () => {
  it.effect("writes NDJSON, one write per batch", () =>
    Effect.gen(function*() {
      const { output, writes } = recording()
      const writer = makeWriter("ndjson", output)
      const stats = yield* writer.writeBatch(Batch.make([{ a: 1 }, { b: "x\ny" }]))
      yield* writer.writeBatch(Batch.make([{ c: null }]))
      assert.deepStrictEqual(stats, { written: 2 })
      assert.deepStrictEqual(writes, ['{"a":1}\n{"b":"x\\ny"}\n', '{"c":null}\n'])
    }))

  it.effect("writes CSV with a header from the first record", () =>
    Effect.gen(function*() {
      const { output, writes } = recording()
      const writer = makeWriter("csv", output)
      yield* writer.writeBatch(Batch.make([{ id: 1, name: "a,b" }]))
      yield* writer.writeBatch(Batch.make([{ id: 2, name: "c" }]))
      assert.deepStrictEqual(writes, ['id,name\n1,"a,b"\n', "2,c\n"])
    }))

  it.effect("CSV: a later record's field that is not a column fails the write naming it (never dropped)", () =>
    Effect.gen(function*() {
      const { output, writes } = recording()
      const writer = makeWriter("csv", output, undefined, { node: "show", batchSize: 10, instance: 0, parallelism: 1 })
      yield* writer.writeBatch(Batch.make([{ id: 1 }]))
      const error = yield* failure(writer.writeBatch(Batch.make([{ id: 2 }, { id: 3, extra: "x" }])))
      assert.include(error.message, "field 'extra' is not a column of node 'show'")
      assert.include(error.message, "(id)")
      assert.deepStrictEqual(writes, ["id\n1\n"])
    }))

  it.effect("a failed write is a ConnectorError", () =>
    Effect.gen(function*() {
      const { output } = recording(new Error("EPIPE"))
      const error = yield* failure(makeWriter("ndjson", output).writeBatch(Batch.make([{ a: 1 }])))
      assert.strictEqual(error.message, "stdout write: EPIPE")
    }))

  it("validates format", () => {
    assert.deepStrictEqual(configIssues("sink", "stdout", {}), [])
    assert.strictEqual(configIssues("sink", "stdout", { format: "xml" }).length, 1)
  })

  it("writes to the process's standard output", () => {
    const node = resolve(import.meta.dirname, "../../../node_modules/.bin/node")
    const script = resolve(import.meta.dirname, "fixtures/print.ts")
    const child = spawnSync(node, ["--experimental-strip-types", "--no-warnings", script], { encoding: "utf8" })
    assert.strictEqual(child.status, 0, child.stderr)
    assert.strictEqual(child.stdout, '{"id":1}\n{"id":2}\n')
  })
})
