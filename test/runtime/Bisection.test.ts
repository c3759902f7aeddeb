/**
 * `bisectingProcess`: a pure batch function's failed batch is run again in halves until the
 * records it fails on alone are found. Checked directly: a batch it does not fail on costs one
 * call; the output is every other record's, in input order, each produced once; the letters name
 * the failing records with the failure's tag and the batch's origin.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../src/Batch.ts"
import type * as DeadLetter from "../../src/connectors/kit/DeadLetter.ts"
import { bisectingProcess } from "../../src/internal/tasks/transform.ts"

class Odd extends Error {
  override readonly name = "Odd"
}

/** Doubles numbers; fails the whole batch on any number divisible by 7. */
const counting = () => {
  const calls: Array<ReadonlyArray<number>> = []
  const process = (batch: Batch.Batch<unknown>) =>
    Effect.suspend(() => {
      const records = Batch.toArray(batch) as ReadonlyArray<number>
      calls.push(records)
      const bad = records.find((n) => n % 7 === 0)
      return bad === undefined ? Effect.succeed(records.map((n) => n * 2)) : Effect.fail(new Odd(`no ${bad}`))
    })
  return { calls, process }
}

const run = (records: ReadonlyArray<number>, start = 0) =>
  Effect.gen(function*() {
    const { calls, process } = counting()
    const letters: Array<DeadLetter.Letter> = []
    const padded = [...Array.from({ length: start }, () => -1), ...records]
    const batch = Batch.make(padded, { origin: { source: "numbers", position: 42 } }, start, padded.length)
    const output = yield* bisectingProcess(process, (l) => Effect.sync(() => void letters.push(...l)))(batch)
    return { calls, letters, output }
  })

describe("bisectingProcess", () => {
  it.effect("a batch it does not fail on: one call, its output as is, no letters", () =>
    Effect.gen(function*() {
      const { calls, letters, output } = yield* run([1, 2, 3, 4])
      assert.strictEqual(calls.length, 1)
      assert.deepStrictEqual(output, [2, 4, 6, 8])
      assert.deepStrictEqual(letters, [])
    }))

  it.effect("one bad record in 16: found in about 2·log2(16) calls more; the others' output once each, in order", () =>
    Effect.gen(function*() {
      const records = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17] // 7 is the one bad record
      const { calls, letters, output } = yield* run(records)
      const good = records.filter((n) => n !== 7)
      assert.deepStrictEqual(output, good.map((n) => n * 2))
      assert.deepStrictEqual(letters.map((l) => [l.record, l.error, l.fields?.tag, l.fields?.source, l.fields?.position]), [[7, "no 7", "Odd", "numbers", 42]])
      assert.isAtMost(calls.length, 1 + 2 * Math.log2(16))
      // every record produced output once: the successful calls are disjoint and cover the good ones in order
      const succeeded = calls.filter((c) => !c.includes(7)).flat()
      assert.deepStrictEqual(succeeded, good)
    }))

  it.effect("several bad records, a view that starts inside its array: each letter once, with its place", () =>
    Effect.gen(function*() {
      const records = Array.from({ length: 30 }, (_, i) => i + 1)
      const { letters, output } = yield* run(records, 5)
      assert.deepStrictEqual(output, records.filter((n) => n % 7 !== 0).map((n) => n * 2))
      assert.deepStrictEqual(letters.map((l) => l.record), [7, 14, 21, 28])
    }))

  it.effect("every record failing alone: every record set aside (as a map throwing on each would)", () =>
    Effect.gen(function*() {
      const { letters, output } = yield* run([7, 14, 21])
      assert.deepStrictEqual(output, [])
      assert.deepStrictEqual(letters.map((l) => l.record), [7, 14, 21])
    }))
})
