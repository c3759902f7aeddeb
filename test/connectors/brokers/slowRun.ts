/**
 * A run of a broker source into a slow sink, for the backpressure tests (rabbitmq, mqtt): the sink
 * takes 20 ms per batch and records the `n` of every record `{ n }` it gets; batches of 50, two
 * batches between tasks, a checkpoint every 100 ms. The run is forked in the caller's scope.
 */
import { Effect, Fiber, Schema, type Scope } from "effect"
import * as Batch from "../../../src/Batch.ts"
import * as Connector from "../../../src/Connector.ts"
import * as Registry from "../../../src/Registry.ts"
import * as Runtime from "../../../src/Runtime.ts"
import * as WorkflowGraph from "../../../src/WorkflowGraph.ts"

/** What the slow sink got: the `n` of each record, in order, and how many batches. */
export interface SlowRun {
  readonly written: Array<number>
  readonly batches: () => number
  /** Stops the run. */
  readonly stop: Effect.Effect<void>
}

/** Runs `source` (its definition, node id and config) into the slow sink until the scope closes or `stop`. */
export const slowRun = (source: {
  readonly definition: Registry.Definition
  readonly id: string
  readonly type: string
  readonly config: { readonly [key: string]: unknown }
}): Effect.Effect<SlowRun, never, Scope.Scope> =>
  Effect.gen(function*() {
    const written: Array<number> = []
    let batches = 0
    const slow = Connector.sink<unknown, unknown>({
      type: "slow",
      description: "takes 20 ms per batch",
      config: Schema.Unknown,
      capabilities: () => ({ guarantee: "exactly-once", transactional: false }),
      check: () => Effect.void,
      open: () =>
        Effect.succeed({
          writeBatch: (batch: Batch.Batch<unknown>) =>
            Effect.sleep("20 millis").pipe(
              Effect.andThen(Effect.sync(() => {
                batches++
                Batch.forEach(batch, (r) => void written.push((r as { n: number }).n))
                return { written: Batch.size(batch) }
              }))
            ),
          flush: Effect.void
        })
    })
    const run = yield* Runtime.run(
      WorkflowGraph.make({
        name: `${source.type}-slow-${Math.random().toString(36).slice(2)}`,
        execution: { batch_size: 50, queue_capacity: 2, checkpoint_interval: "100ms" },
        nodes: [
          { kind: "source", id: source.id, type: source.type, config: source.config, inputs: [] },
          { kind: "sink", id: "out", type: "slow", config: {}, inputs: [source.id] }
        ]
      })
    ).pipe(Effect.provide(Registry.layer([source.definition, slow as Registry.Definition])), Effect.forkScoped)
    return { written, batches: () => batches, stop: Fiber.interrupt(run).pipe(Effect.asVoid) }
  })
