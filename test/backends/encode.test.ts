import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { type CheckpointRecord, info } from "../../src/Checkpoint.ts"
import { retainedIds } from "../../src/backends/internal/chain.ts"
import { unseal } from "../../src/backends/internal/checksum.ts"
import { encodeRecord } from "../../src/backends/internal/encode.ts"
import { retained } from "../../src/StateBackend.ts"

const json = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown)
const recordArbitrary: fc.Arbitrary<CheckpointRecord> = fc.record({
  format: fc.constant(1 as const),
  workflow: fc.string({ unit: "binary" }),
  id: fc.nat(),
  startedAt: fc.nat(),
  completedAt: fc.nat(),
  full: fc.boolean(),
  positions: fc.array(fc.record({ node: fc.string(), instance: fc.nat(3), position: json }), { maxLength: 3 }),
  operators: fc.array(
    fc.record({
      node: fc.constantFrom("a", "b", "c\"d"),
      instance: fc.nat(3),
      version: fc.nat(5),
      full: fc.boolean(),
      upserts: fc.array(fc.tuple(fc.string({ unit: "binary" }), json), { maxLength: 5 }),
      deletes: fc.array(fc.string({ unit: "binary" }), { maxLength: 3 })
    }),
    { maxLength: 4 }
  ),
  final: fc.boolean()
})

describe("backend internals", () => {
  it("encodeRecord writes exactly JSON.stringify's text and Checkpoint.info's metadata", () => {
    fc.assert(
      fc.property(recordArbitrary, (record) => {
        const encoded = encodeRecord(record)
        // JSON.stringify's text, sealed with its checksum
        assert.deepStrictEqual(unseal(encoded.json), { ok: true, json: JSON.stringify(record), sealed: true })
        assert.deepStrictEqual(encoded.info, info(record))
      }),
      { numRuns: 300 }
    )
  })

  it("retainedIds keeps the same records as StateBackend.retained", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 40 }), (fulls) => {
        const records = fulls.map((full, i): CheckpointRecord => ({
          format: 1,
          workflow: "w",
          id: i + 1,
          startedAt: 0,
          completedAt: 0,
          full,
          positions: [],
          operators: [],
          final: false
        }))
        assert.deepStrictEqual([...retainedIds(records)], retained(records).map((r) => r.id))
      }),
      { numRuns: 300 }
    )
  })
})
