/**
 * Errors name who failed (issue 12, item 9, runtime part): a sink's commit that fails is the
 * sink's failure, whichever task completed the checkpoint; a state backend that fails is the
 * backend's, never a node's.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Connector from "../../src/Connector.ts"
import { ConnectorError, NodeError, TransientError } from "../../src/Errors.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import { StateBackendError } from "../../src/StateBackend.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { definitions } from "./support.ts"

/** An exactly-once sink whose commit fails. */
const FailingCommit = Connector.sink({
  type: "failing_commit",
  description: "commit fails",
  config: Schema.Struct({}),
  capabilities: () => ({ guarantee: "exactly-once", transactional: true, inline: true }),
  check: () => Effect.void,
  open: () =>
    Effect.succeed({
      writeBatch: (batch: Batch.Batch<unknown>) => Effect.succeed({ written: Batch.size(batch) }),
      flush: Effect.void,
      preCommit: () => Effect.void,
      commit: () =>
        Effect.fail(new ConnectorError({ connector: "failing_commit", operation: "commit", reason: new TransientError({ message: "the server went away" }) }))
    })
})

const registry = Registry.layer([...definitions, FailingCommit])

const graph = (sink: string) =>
  WorkflowGraph.make({
    name: `blame-${sink}`,
    execution: { batch_size: 10, checkpoint_interval: "5ms" },
    nodes: [
      { kind: "source", id: "nums", type: "numbers", config: { count: 2000, delay_ms: 1 }, inputs: [] },
      { kind: "sink", id: "out", type: sink, config: sink === "collect_test" ? { name: "blame" } : {}, inputs: ["nums"] }
    ]
  })

describe("who is blamed", () => {
  it.live("a failed commit names the sink, not the source whose fiber completed the checkpoint", () =>
    Effect.gen(function*() {
      // the sink is chained into the source's fiber: the source completes every checkpoint
      const error = yield* Effect.flip(Runtime.run(graph("failing_commit")).pipe(Effect.provide(StateBackend.layerMemory)))
      assert.instanceOf(error, NodeError)
      assert.strictEqual((error as NodeError).node, "out")
      assert.include(error.message, "the server went away")
    }).pipe(Effect.provide(registry)))

  it.live("a failing state backend is the backend's failure, not a node's", () =>
    Effect.gen(function*() {
      const memory = StateBackend.makeMemory()
      const full: StateBackend.Backend = {
        ...memory,
        name: "full-disk",
        write: () => Effect.fail(new StateBackendError({ backend: "full-disk", operation: "write", reason: "Io", message: "no space left on device" }))
      }
      const error = yield* Effect.flip(Runtime.run(graph("collect_test")).pipe(Effect.provideService(StateBackend.StateBackend, full)))
      assert.instanceOf(error, StateBackendError)
      assert.include(error.message, "no space left on device")
    }).pipe(Effect.provide(registry)))
})
