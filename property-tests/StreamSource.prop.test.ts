/**
 * A resumable Effect Stream source restored after failures gives the output of an uninterrupted
 * run: `checkRestoreEquivalence` keeps the stream source's own connector (wrapped to fail reads
 * and to "crash" the process) and compares the exactly-once sink's content with a clean run's.
 */
import { assert, describe, it } from "@effect/vitest"
import { Schema, Stream } from "effect"
import fc from "fast-check"
import * as Pipeline from "../dsl/Pipeline.ts"
import * as Streams from "../dsl/Streams.ts"
import * as Builtins from "../src/Builtins.ts"
import * as Memory from "../src/connectors/memory/index.ts"
import { checkRestoreEquivalence } from "../src/testing/RestoreEquivalence.ts"
import { numRuns } from "./support/effectProperty.ts"

interface Reading {
  readonly sensor: string
  readonly value: number
}

/** A pipeline over a resumable stream of `readings`, its positions being record indices (as strings, through a Schema). */
const pipelineOf = (readings: ReadonlyArray<Reading>, chunk: number) =>
  Pipeline.from(
    "readings",
    Streams.source(
      (from: bigint | undefined) =>
        Stream.fromIterable(readings.slice(Number(from ?? 0n))).pipe(
          Stream.rechunk(chunk),
          Stream.zipWithIndex,
          Stream.map(([r, i]) => [r, (from ?? 0n) + BigInt(i) + 1n] as const)
        ),
      // a position that is not JSON as it is: the Schema encodes it for the checkpoint
      { position: Schema.BigInt }
    )
  )
    .named("stream-restore")
    .filter("valid", (r) => r.value >= 0)
    .map("scaled", (r) => ({ sensor: r.sensor, value: r.value * 10 }))
    .to("out", Memory.sink())

const readingsArbitrary = fc.array(
  fc.record({ sensor: fc.constantFrom("a", "b", "c"), value: fc.integer({ min: -5, max: 100 }) }),
  { minLength: 30, maxLength: 120 }
)

describe("resumable stream source", () => {
  it("restored after arbitrary failures and crashes, the sink ends equal to an uninterrupted run", async () => {
    const totals = { cases: 0, restarts: 0, restoredFromCheckpoint: 0 }
    await fc.assert(
      fc.asyncProperty(readingsArbitrary, fc.integer({ min: 1, max: 7 }), fc.integer(), async (readings, chunk, seed) => {
        const stats = await checkRestoreEquivalence({
          graph: pipelineOf(readings, chunk),
          registry: Builtins.layer,
          inputs: {},
          keep: ["readings"],
          numRuns: 4,
          seed
        })
        totals.cases += stats.cases
        totals.restarts += stats.restarts
        totals.restoredFromCheckpoint += stats.restoredFromCheckpoint
      }),
      { numRuns: numRuns(40) }
    )
    console.log(`stream source restore equivalence: ${JSON.stringify(totals)}`)
    // meaningful only if failures happened and restores resumed the stream from checkpoints
    assert.isAbove(totals.restarts, totals.cases / 4)
    assert.isAbove(totals.restoredFromCheckpoint, totals.cases / 10)
  }, 600_000)
})
