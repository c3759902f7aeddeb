/** kit/CheckpointTable: the slack, --from-scratch, the wording of the refusal, the RestoreError of the pre-flight check. */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { RestoreError } from "../../../src/Checkpoint.ts"
import * as CheckpointTable from "../../../src/connectors/kit/CheckpointTable.ts"

const context = { workflow: "wf", node: "sink", instance: 1, parallelism: 2, checkpoint: 5 }
const holder = CheckpointTable.holderOf({ table: "orders" }, "cp", context)

describe("CheckpointTable", () => {
  it("names the instance as node#instance, and the config's workflow over the run's", () => {
    assert.deepStrictEqual(holder, { table: "orders", workflow: "wf", node: "sink#1", checkpointTable: "cp" })
    assert.strictEqual(CheckpointTable.holderOf({ table: "t", workflow: "other" }, "cp", context).workflow, "other")
  })

  it("refuses a table ahead by more than the slack, never a table at or behind it", () => {
    assert.isUndefined(CheckpointTable.aheadOf(holder, undefined, 5, 0, false), "nothing committed")
    assert.isUndefined(CheckpointTable.aheadOf(holder, 5, 5, 0, false))
    assert.isUndefined(CheckpointTable.aheadOf(holder, 3, 5, 0, false), "behind: the rows after it are written again, once")
    assert.isUndefined(CheckpointTable.aheadOf(holder, 6, 5, 1, false), "one in flight at-least-once")
    const refused = CheckpointTable.aheadOf(holder, 6, 5, 0, false)
    assert.isDefined(refused)
    assert.include(refused!.reason, "table 'orders' already holds the rows of checkpoint 6 (sink instance 'sink#1' of workflow 'wf' in cp)")
    assert.include(refused!.reason, "would resume from checkpoint 5")
    assert.include(refused!.remedy, "--from-scratch")
    assert.isDefined(CheckpointTable.aheadOf(holder, 7, 5, 1, false))
  })

  it("from the start: refused unless the user asked to start over", () => {
    const refused = CheckpointTable.aheadOf(holder, 2, undefined, 1, false)
    assert.include(refused!.reason, "from the start (the state holds no checkpoint: was it deleted?)")
    assert.isUndefined(CheckpointTable.aheadOf(holder, 9, undefined, 0, true))
    assert.isDefined(CheckpointTable.aheadOf(holder, 9, 5, 0, true), "--from-scratch does not excuse a restored checkpoint")
  })

  it.effect("check: reads the committed id and fails with a RestoreError naming the node and the checkpoint", () =>
    Effect.gen(function*() {
      let asked: CheckpointTable.Holder | undefined
      const committed = (n: number | undefined) => (h: CheckpointTable.Holder) =>
        Effect.sync(() => {
          asked = h
          return n
        })
      yield* CheckpointTable.check({ holder, committed: committed(5), slack: 0, context })
      assert.deepStrictEqual(asked, holder)
      const exit = yield* Effect.exit(CheckpointTable.check({ holder, committed: committed(8), slack: 1, context }))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
      assert.instanceOf(error, RestoreError)
      assert.strictEqual((error as RestoreError).node, "sink")
      assert.strictEqual((error as RestoreError).checkpoint, 5)
    }))
})
