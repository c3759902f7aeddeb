/**
 * A stateless node changed between a stop and a resume (a filter's condition, a map's fields) is
 * not refused — changing a stateless step and resuming is legitimate — but it is not silent
 * either: the run warns, naming each changed node and what changed, that the records written
 * before the checkpoint used the old definition, and the run summary records it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { FilterDefinition } from "../../src/processors/filter.ts"
import { MapDefinition } from "../../src/processors/map.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { definitions, ExactlyOnce } from "./support.ts"

const registry = Registry.layer([...definitions, ExactlyOnce, FilterDefinition, MapDefinition])

const graph = (name: string, condition: string, fields: { readonly [name: string]: string } = { twice: "id * 2" }) =>
  WorkflowGraph.make({
    name,
    execution: { batch_size: 20, queue_capacity: 2, checkpoint_interval: "5ms" },
    nodes: [
      { kind: "source", id: "nums", type: "numbers", config: { count: 3000, delay_ms: 1 }, inputs: [] },
      { kind: "processor", id: "keep", type: "filter", config: { condition }, inputs: ["nums"] },
      { kind: "processor", id: "calc", type: "map", config: { fields }, inputs: ["keep"] },
      { kind: "sink", id: "out", type: "exactly_once_test", config: { name }, inputs: ["calc"] }
    ]
  })

/** Runs `effect` collecting the messages logged at warning level. */
const withWarnings = <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const warnings: Array<string> = []
  const collector = Logger.make((options) => {
    if (options.logLevel === "Warn") warnings.push(Array.isArray(options.message) ? options.message.join(" ") : String(options.message))
  })
  return Effect.map(Effect.provide(effect, Logger.layer([collector])), (summary) => ({ summary, warnings }))
}

describe("a stateless node changed between stop and resume", () => {
  it.live("is not refused; the run warns naming the changed nodes and the summary records them", () =>
    Effect.gen(function*() {
      const backend = StateBackend.makeMemory()
      const provide = Effect.provideService(StateBackend.StateBackend, backend)
      const first = yield* Runtime.run(graph("stateless-change", "id % 2 == 0"), { stop: Effect.sleep(40) }).pipe(provide)
      assert.isDefined(first.stopped)
      const checkpoint = first.stopped!.checkpoint
      assert.isUndefined(first.definitionsChanged)

      const { summary, warnings } = yield* withWarnings(
        Runtime.run(graph("stateless-change", "id % 3 == 0", { twice: "id * 2", half: "id / 2" })).pipe(provide)
      )
      assert.isUndefined(summary.stopped)
      assert.deepStrictEqual(summary.resumedFrom, { checkpoint, complete: false })
      assert.deepStrictEqual(summary.definitionsChanged, {
        checkpoint,
        nodes: [
          { node: "keep", changes: [`condition: "id % 2 == 0" → "id % 3 == 0"`] },
          { node: "calc", changes: [`fields: {"twice":"id * 2"} → {"twice":"id * 2","half":"id / 2"}`] }
        ]
      })
      const notice = warnings.find((w) => w.includes("changed since checkpoint"))
      assert.isDefined(notice, `warnings: ${JSON.stringify(warnings)}`)
      assert.include(notice, `node 'keep' changed since checkpoint ${checkpoint} (condition: "id % 2 == 0" → "id % 3 == 0")`)
      assert.include(notice, `node 'calc' changed since checkpoint ${checkpoint}`)
      assert.include(notice, `records written before checkpoint ${checkpoint} used the old definition`)

      // resuming again with the same definition: nothing to say
      const third = yield* withWarnings(Runtime.run(graph("stateless-change", "id % 3 == 0", { twice: "id * 2", half: "id / 2" })).pipe(provide))
      assert.isUndefined(third.summary.definitionsChanged)
      assert.isUndefined(third.warnings.find((w) => w.includes("changed since checkpoint")))
    }).pipe(Effect.provide(registry)))
})
