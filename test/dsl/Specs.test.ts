/**
 * The typed connector specs at run time: `Ndjson.source` with a Schema decodes each line at the
 * edge (a bad line fails naming file:line and the field), a typed memory list collects.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Schema } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import * as Ndjson from "../../src/connectors/ndjson/index.ts"
import { NodeError, RecordError } from "../../src/Errors.ts"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-specs-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

const Order = Schema.Struct({ id: Schema.Int, amount: Schema.Number, placed: Schema.DateFromString })

describe("Ndjson.source with a Schema", () => {
  it.effect("decodes every line with the Schema; undeclared fields are kept", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "orders.ndjson")
      const lines = Array.from({ length: 40 }, (_, i) =>
        JSON.stringify({ id: i, amount: i * 1.5, placed: new Date(Date.UTC(2026, 0, 1, i)).toISOString(), note: `n${i}` }))
      yield* Effect.promise(() => writeFile(path, `${lines.join("\n")}\n`))
      const out = Memory.list<{ readonly id: number; readonly hour: number; readonly note: unknown }>(`ndjson-schema-${process.pid}`)
      out.clear()
      const p = Pipeline.from("orders", Ndjson.source({ path, schema: Order }))
        .execution({ batch_size: 7 })
        // `placed` is a Date here: the Schema decoded it
        .map("hour", (o) => ({ id: o.id, hour: o.placed.getUTCHours(), note: (o as { readonly note?: unknown }).note }))
        .to("out", out.sink())
      yield* Pipeline.run(p).pipe(Effect.provide(Builtins.layer))
      assert.deepStrictEqual(out.records(), Array.from({ length: 40 }, (_, i) => ({ id: i, hour: i % 24, note: `n${i}` })))
    }).pipe(Effect.scoped))

  it.effect("a line the Schema does not decode fails the run naming file:line and the field", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "orders.ndjson")
      const good = (i: number) => JSON.stringify({ id: i, amount: 1, placed: "2026-01-01T00:00:00Z" })
      yield* Effect.promise(() => writeFile(path, `${good(1)}\n${good(2)}\n{"id":3,"amount":"12","placed":"2026-01-01T00:00:00Z"}\n${good(4)}\n`))
      const p = Pipeline.from("orders", Ndjson.source({ path, schema: Order })).to("out", Memory.sink())
      const exit = yield* Effect.exit(Pipeline.run(p).pipe(Effect.provide(Builtins.layer)))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      assert.instanceOf(error, NodeError)
      const cause = (error as NodeError).cause
      assert.instanceOf(cause, RecordError)
      assert.deepStrictEqual((cause as RecordError).location, { file: path, line: 3 })
      assert.strictEqual((cause as RecordError).field, "amount")
      assert.include((error as NodeError).message, `${path}:3: field 'amount'`)
    }).pipe(Effect.scoped))
})
