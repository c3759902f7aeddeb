/**
 * Fusion: the steps of several stateless processors run in one loop (`Processor.runSteps`) give
 * the same records as applying the processors one after another, for any batch size.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Batch from "../../src/Batch.ts"
import * as Processor from "../../src/Processor.ts"
import { FilterDefinition } from "../../src/processors/filter.ts"
import { FlatMapDefinition } from "../../src/processors/flatMap.ts"
import { MapDefinition } from "../../src/processors/map.ts"
import { RenameDefinition } from "../../src/processors/rename.ts"
import { SelectDefinition } from "../../src/processors/select.ts"
import { run, steps } from "./statelessSupport.ts"

const countries = ["DE", "FR", "US", "GB", null]
const records = Array.from({ length: 1000 }, (_, i) => ({
  id: i,
  status: i % 3 === 0 ? "active" : "idle",
  amount: (i * 7) % 50,
  country: countries[i % 5],
  name: `Name ${i}`,
  ...(i % 11 === 0 ? { deleted: true } : {})
}))

const chain: ReadonlyArray<ReadonlyArray<Processor.Step>> = [
  steps(FilterDefinition, { condition: "status == 'active' or amount > 40" }),
  steps(MapDefinition, { fields: { total: "amount * 2 + 1", label: "concat(lower(name), '/', coalesce(country, '?'))" } }),
  steps(FilterDefinition, { condition: "not deleted && country not in ['GB']" }),
  steps(FlatMapDefinition, { fn: (r: unknown) => ((r as { id: number }).id % 2 === 0 ? [r, r] : [r]) }),
  steps(RenameDefinition, { fields: { label: "tag", id: "key" } }),
  steps(SelectDefinition, { fields: ["key", "tag", "total"] })
]

describe("fusion of stateless processors", () => {
  it("one fused loop equals the processors applied one after another, at every batch size", () => {
    let sequential: ReadonlyArray<unknown> = records
    for (const s of chain) sequential = run(s, sequential, 1000)
    assert.isAbove(sequential.length, 100)
    const fused = chain.flat()
    for (const size of [1, 7, 64, 1000]) {
      assert.deepStrictEqual(run(fused, records, size), sequential, `batch size ${size}`)
    }
  })
  it("without flat_map (the fast loop) too", () => {
    const noFlat = chain.filter((_, i) => i !== 3)
    let sequential: ReadonlyArray<unknown> = records
    for (const s of noFlat) sequential = run(s, sequential, 1000)
    assert.deepStrictEqual(run(noFlat.flat(), records, 13), sequential)
  })
  it("a fused chain over a sliced batch reads only the slice", () => {
    const f = Processor.runSteps(chain.flat())
    const batch = Batch.slice(Batch.make(records), 3, 4)
    // record 3 is active, not deleted, country GB → dropped by the second filter
    assert.deepStrictEqual(f(batch), [])
    assert.deepStrictEqual(f(Batch.slice(Batch.make(records), 6, 7)), [
      { key: 6, tag: "name 6/FR", total: 85 },
      { key: 6, tag: "name 6/FR", total: 85 }
    ])
  })
})
