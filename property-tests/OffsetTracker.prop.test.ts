import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import * as OffsetTracker from "../src/OffsetTracker.ts"
import { numRuns, timeoutFor } from "./support/effectProperty.ts"

/**
 * Model: read offsets in increasing order (with gaps), acknowledge them in an arbitrary order,
 * interleaved with reads. After every step, the committable offset must be exactly the highest
 * offset whose every predecessor (and itself) is acknowledged — never beyond an unacknowledged one.
 */
const runs = numRuns(300)

describe("OffsetTracker", () => {
  it("commits only below the lowest unacknowledged offset, under arbitrary ack orders and a cap", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 200 }), // gaps between offsets
        fc.array(fc.nat(), { maxLength: 400 }), // choices driving the interleaving
        fc.integer({ min: 1, max: 50 }), // cap
        (gaps, choices, cap) => {
          const offsets: Array<number> = []
          for (const g of gaps) offsets.push((offsets[offsets.length - 1] ?? 0) + g)
          const tracker = OffsetTracker.make({ maxInFlight: cap })
          let nextRead = 0
          const unacked: Array<number> = []
          const ackedSet = new Set<number>()
          for (const c of choices) {
            if (c % 2 === 0 && nextRead < offsets.length) {
              const ok = tracker.register(offsets[nextRead])
              const inFlightModel = offsets.slice(0, nextRead).filter((o) => !ackedSet.has(o) || offsets.slice(0, offsets.indexOf(o)).some((p) => !ackedSet.has(p))).length
              assert.strictEqual(ok, inFlightModel < cap)
              if (ok) {
                unacked.push(offsets[nextRead])
                nextRead++
              }
            } else if (unacked.length > 0) {
              const [o] = unacked.splice(c % unacked.length, 1)
              ackedSet.add(o)
              tracker.ack(o)
            }
            // model of the committable offset
            let expected: number | undefined
            for (let i = 0; i < nextRead; i++) {
              if (!ackedSet.has(offsets[i])) break
              expected = offsets[i]
            }
            assert.strictEqual(tracker.committable(), expected)
            assert.isAtMost(tracker.inFlight(), cap)
          }
        }
      ),
      { numRuns: runs }
    )
  }, timeoutFor(runs, 100, 60_000))

  it("ignores unknown and repeated acknowledgements", () => {
    const t = OffsetTracker.make({ maxInFlight: 10 })
    t.register(10)
    t.register(20)
    t.ack(15)
    t.ack(20)
    t.ack(20)
    assert.strictEqual(t.committable(), undefined)
    t.ack(10)
    assert.strictEqual(t.committable(), 20)
    assert.strictEqual(t.inFlight(), 0)
  })
})
