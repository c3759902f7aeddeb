/** `flat_map` and `process` (the DSL's function processors) over real batches. */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../src/Batch.ts"
import { RecordError } from "../../src/Errors.ts"
import { FlatMapDefinition } from "../../src/processors/flatMap.ts"
import { ProcessDefinition } from "../../src/processors/process.ts"
import { make, run, steps } from "./statelessSupport.ts"

describe("flat_map", () => {
  it("replaces each record by the records fn returns (zero or more)", () => {
    const fn = (r: unknown) => {
      const o = r as { id: number; lines: ReadonlyArray<string> }
      return o.lines.map((line) => ({ order: o.id, line }))
    }
    const out = run(steps(FlatMapDefinition, { fn }), [
      { id: 1, lines: ["a", "b"] },
      { id: 2, lines: [] },
      { id: 3, lines: ["c"] }
    ], 2)
    assert.deepStrictEqual(out, [{ order: 1, line: "a" }, { order: 1, line: "b" }, { order: 3, line: "c" }])
  })
})

describe("process", () => {
  const processor = (fn: (records: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<unknown>, unknown>) => {
    const p = make(ProcessDefinition, { fn })
    if (p._tag !== "Batch") return assert.fail("expected a batch processor")
    return p
  }
  it.effect("runs fn once per batch with the batch's records (a view: only its slice)", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const p = processor((records) =>
        Effect.sync(() => {
          seen.push(records.length)
          return records.map((r) => ({ n: (r as { n: number }).n * 2 }))
        })
      )
      const batch = Batch.slice(Batch.make([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]), 1, 3)
      const out = yield* p.process(batch)
      assert.deepStrictEqual(out, [{ n: 4 }, { n: 6 }])
      assert.deepStrictEqual(seen, [2])
    }))
  it.effect("an Error failure is kept; other failures and throws become errors", () =>
    Effect.gen(function*() {
      const boom = new Error("boom")
      const e1 = yield* Effect.flip(processor(() => Effect.fail(boom)).process(Batch.make([1])))
      assert.strictEqual(e1, boom)
      const e2 = yield* Effect.flip(processor(() => Effect.fail({ code: 7 })).process(Batch.make([1])))
      assert.instanceOf(e2, RecordError)
      assert.strictEqual(e2.message, 'process failed: {"code":7}')
      const e3 = yield* Effect.flip(processor(() => {
        throw new TypeError("sync throw")
      }).process(Batch.make([1])))
      assert.instanceOf(e3, TypeError)
    }))
})
