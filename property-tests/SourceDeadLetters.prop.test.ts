/**
 * Malformed records set aside by the file sources (`on_error: dead_letter`) stay exactly-once
 * across any number of crashes: random files of good and malformed records (ndjson: not JSON, not
 * an object, an integer a double would round; csv: a field that does not convert, the wrong field
 * count, a syntax error), read in random batch sizes, with checkpoints taken at random batches and
 * crashes at random points (the output is cut back to the last checkpoint, a new reader seeks to
 * its position — or starts afresh when there is none). At the end every good record is in the
 * output once and every malformed one in the dead-letter file once — for the one-thread readers
 * and for the csv and ndjson sources read in two ranges on their threads (each range crashing on
 * its own).
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import type { Position } from "../src/Batch.ts"
import type { OpenContext } from "../src/Connector.ts"
import { context, openSource, sourceLetters, tempDir } from "../test/connectors/csv/support.ts"
import { numRuns, timeoutFor } from "./support/effectProperty.ts"

/** A record of the generated file: its id, and its kind (0: good, 1-3: a kind of malformed). */
interface Item {
  readonly kind: number
}

const ndjsonLine = (id: number, kind: number): string =>
  kind === 1 ? `{"id":${id},` : kind === 2 ? `[${id}]` : kind === 3 ? `{"id":${id},"n":99999999999999999999}` : JSON.stringify({ id })

const csvLine = (id: number, kind: number): string =>
  kind === 1 ? `${id},x` : kind === 2 ? `${id}` : kind === 3 ? `${id},"1"2` : `${id},${id}`

/** A crash plan: per step, how many batches to read before the crash, and which batches end with a checkpoint. */
const plan = fc.record({
  items: fc.array(fc.record({ kind: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 3 })) }), { minLength: 1, maxLength: 60 }),
  batch: fc.integer({ min: 1, max: 7 }),
  crashes: fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 4 }),
  checkpoints: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 })
})

type Plan = typeof plan extends fc.Arbitrary<infer A> ? A : never

/**
 * Reads instance `ctx` of the source to its end through the crashes of `p`; returns the ids in
 * the output (cut back to the checkpoint at each crash).
 */
const readThroughCrashes = (type: string, config: object, ctx: OpenContext, p: Plan) =>
  Effect.gen(function*() {
    let output: Array<number> = []
    let saved: { readonly position: Position; readonly length: number } | undefined
    let tick = 0
    for (let step = 0; step <= p.crashes.length; step++) {
      const last = step === p.crashes.length
      yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* openSource(type, config, ctx)
        if (saved !== undefined) yield* reader.seek(saved.position)
        for (let b = 0; last || b < p.crashes[step]; b++) {
          const batch = yield* reader.readBatch(p.batch)
          if (batch === undefined) {
            saved = { position: yield* reader.position, length: output.length }
            return
          }
          for (const r of batch.records) output.push(Number((r as { readonly id: unknown }).id))
          if (p.checkpoints[tick++ % p.checkpoints.length]) saved = { position: yield* reader.position, length: output.length }
        }
      }))
      // the crash: the exactly-once sink is cut back to the checkpoint
      output = output.slice(0, saved?.length ?? 0)
      if (last) break
    }
    return output
  })

const check = (type: "ndjson" | "csv", parallelism: number) => (p: Plan) =>
  Effect.scoped(Effect.gen(function*() {
    const dir = yield* tempDir
    const path = join(dir, `in.${type}`)
    const lines = p.items.map((item: Item, i) => (type === "ndjson" ? ndjsonLine(i + 1, item.kind) : csvLine(i + 1, item.kind)))
    writeFileSync(path, (type === "csv" ? "id,n\n" : "") + lines.join("\n") + "\n")
    const letters = join(dir, "letters.ndjson")
    const config = { path, on_error: "dead_letter", dead_letter: { path: letters }, ...(type === "csv" ? { columns: { id: "integer", n: "integer" } } : {}) }
    const output: Array<number> = []
    for (let instance = 0; instance < parallelism; instance++) {
      const ctx = parallelism > 1 ? { ...context, instance, parallelism } : context
      output.push(...(yield* readThroughCrashes(type, config, ctx, p)))
    }
    const good = p.items.flatMap((item, i) => (item.kind === 0 ? [i + 1] : []))
    const bad = p.items.flatMap((item, i) => (item.kind !== 0 ? [i + 1] : []))
    assert.deepStrictEqual(output.sort((a, b) => a - b), good, "every good record once in the output")
    const setAside = sourceLetters(letters).map((e) => (type === "csv" ? e.line - 1 : e.line)).sort((a, b) => a - b)
    assert.deepStrictEqual(setAside, bad, "every malformed record once in the dead letters")
  }))

const runs = numRuns(60)
/** The range readers start a thread at each (re)open, ~2 s a case on a loaded machine: fewer cases. */
const rangeRuns = Math.max(1, Math.floor(runs / 6))

describe("file sources' dead letters: exactly-once across random crashes and restores", () => {
  for (const type of ["ndjson", "csv"] as const) {
    it.effect(type, () =>
      Effect.promise(() => fc.assert(fc.asyncProperty(plan, (p) => Effect.runPromise(check(type, 1)(p))), { numRuns: runs })), timeoutFor(runs, 200, 60_000))
  }

  for (const type of ["csv", "ndjson"] as const) {
    it.effect(`${type} in 2 ranges`, () =>
      Effect.promise(() => fc.assert(fc.asyncProperty(plan, (p) => Effect.runPromise(check(type, 2)(p))), { numRuns: rangeRuns })), timeoutFor(rangeRuns, 5_000, 120_000))
  }
})
