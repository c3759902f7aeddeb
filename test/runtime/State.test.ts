import { assert, describe, it } from "@effect/vitest"
import * as State from "../../src/State.ts"

describe("State.inMemory", () => {
  it("tracks changes from the first takeChanges on, and snapshots/restores", () => {
    const s = State.inMemory<number>()
    s.set("a", 1)
    s.set("b", 2)
    s.delete("a")
    // before the first takeChanges nothing is tracked (the first checkpoint is full)
    assert.deepStrictEqual(s.takeChanges(), { upserts: [], deletes: [] })
    assert.deepStrictEqual(s.snapshot(), [["b", 2]])
    s.set("c", 3)
    s.set("b", 20)
    s.delete("c")
    assert.deepStrictEqual(s.takeChanges(), { upserts: [["b", 20]], deletes: ["c"] })
    assert.deepStrictEqual(s.takeChanges(), { upserts: [], deletes: [] })
    s.restore([["x", 9]])
    assert.strictEqual(s.size(), 1)
    assert.strictEqual(s.get("x"), 9)
    assert.isFalse(s.has("b"))
  })
})
