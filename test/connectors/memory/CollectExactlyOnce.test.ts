import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Builtins from "../../../src/Builtins.ts"
import { clearCollected, collected } from "../../../src/connectors/memory/CollectSink.ts"
import * as Registry from "../../../src/Registry.ts"
import * as Runtime from "../../../src/Runtime.ts"
import * as StateBackend from "../../../src/StateBackend.ts"
import * as WorkflowGraph from "../../../src/WorkflowGraph.ts"
import { FailOnce } from "../../runtime/support.ts"

/** The `collect` sink in both modes, through a run that fails once and restarts from a checkpoint. */
const graph = (name: string, guarantee: "at-least-once" | "exactly-once") =>
  WorkflowGraph.make({
    name,
    execution: { batch_size: 5, checkpoint_interval: "1ms", restart_strategy: { type: "fixed-delay", attempts: 2, delay: "1ms" } },
    nodes: [
      { kind: "source", id: "gen", type: "generator", config: { count: 3000 }, inputs: [] },
      { kind: "processor", id: "boom", type: "fail_once", config: { at: 2500, flag: name }, inputs: ["gen"] },
      { kind: "sink", id: "out", type: "collect", config: { name, guarantee }, inputs: ["boom"] }
    ]
  })

describe("collect sink modes", () => {
  it.live("exactly-once: after a restart the list holds every record once; at-least-once: nothing is lost", () =>
    Effect.gen(function*() {
      const layer = Layer.merge(Registry.layer([...Builtins.definitions, FailOnce]), StateBackend.layerMemory)
      clearCollected()
      const eo = yield* Runtime.run(graph("collect-eo", "exactly-once")).pipe(Effect.provide(layer))
      const alo = yield* Runtime.run(graph("collect-alo", "at-least-once")).pipe(Effect.provide(layer))
      assert.strictEqual(eo.restarts, 1)
      assert.strictEqual(alo.restarts, 1)
      const ids = (name: string) => (collected(name) as Array<{ id: number }>).map((r) => r.id)
      assert.deepStrictEqual([...ids("collect-eo")].sort((a, b) => a - b), Array.from({ length: 3000 }, (_, i) => i))
      const atLeast = ids("collect-alo")
      assert.deepStrictEqual([...new Set(atLeast)].sort((a, b) => a - b), Array.from({ length: 3000 }, (_, i) => i))
      assert.isAtLeast(atLeast.length, 3000) // records after the last checkpoint may be written twice
    }))
})
