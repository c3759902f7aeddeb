import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Batch from "../../src/Batch.ts"
import { NodeError, StateVersionError } from "../../src/Errors.ts"
import { decodeState } from "../../src/internal/operatorState.ts"
import { nextDelay } from "../../src/internal/restart.ts"
import type * as Processor from "../../src/Processor.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as State from "../../src/State.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { definitions, ExactlyOnce, FailOnce, RunningCount } from "./support.ts"

describe("restart strategies", () => {
  it("fixed-delay, exponential-backoff (with cap and jitter) and failure-rate decide the next delay", () => {
    assert.strictEqual(nextDelay(undefined, 1, [0], 0.5), undefined)
    assert.strictEqual(nextDelay({ type: "none" }, 1, [0], 0.5), undefined)
    const fixed = { type: "fixed-delay", attempts: 2, delay: "5s" } as const
    assert.deepStrictEqual([1, 2, 3].map((n) => nextDelay(fixed, n, [0], 0.5)), [5000, 5000, undefined])
    const expo = { type: "exponential-backoff", initial: "100ms", max: "1s", multiplier: 3 } as const
    assert.deepStrictEqual([1, 2, 3, 4, 5].map((n) => nextDelay(expo, n, [0], 0.5)), [100, 300, 900, 1000, 1000])
    const jittered = { type: "exponential-backoff", initial: "1s", max: "1m", jitter: 0.5, attempts: 3 } as const
    assert.strictEqual(nextDelay(jittered, 1, [0], 0), 500)
    assert.strictEqual(nextDelay(jittered, 1, [0], 0.999), 1499)
    assert.strictEqual(nextDelay(jittered, 4, [0], 0.5), undefined)
    const rate = { type: "failure-rate", max_failures: 2, interval: "1m", delay: "2s" } as const
    assert.strictEqual(nextDelay(rate, 1, [0], 0.5), 2000)
    assert.strictEqual(nextDelay(rate, 2, [0, 10_000], 0.5), 2000)
    assert.strictEqual(nextDelay(rate, 3, [0, 10_000, 20_000], 0.5), undefined)
    // failures older than the interval do not count
    assert.strictEqual(nextDelay(rate, 3, [0, 10_000, 70_001], 0.5), 2000)
  })

  it.effect("a restart waits for its delay on the clock (TestClock), then resumes from the checkpoint", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "restart-delay",
        execution: {
          batch_size: 10,
          checkpoint_interval: "1ms",
          restart_strategy: { type: "fixed-delay", attempts: 1, delay: "30s" }
        },
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 200, delay_ms: 1 }, inputs: [] },
          { kind: "processor", id: "f", type: "fail_once", config: { at: 150, flag: "restart-delay" }, inputs: ["nums"] },
          { kind: "sink", id: "out", type: "exactly_once_test", config: { name: "restart-delay" }, inputs: ["f"] }
        ]
      })
      const restarts: Array<number> = []
      const fiber = yield* Effect.forkChild(
        Runtime.run(graph, {
          onRestart: (r) =>
            Effect.sync(() => {
              restarts.push(r.delayMs)
            })
        }).pipe(Effect.provide(Layer.merge(Registry.layer([...definitions, ExactlyOnce, FailOnce]), StateBackend.layerMemory)))
      )
      // run until the failure: reads take 1 ms each
      while (restarts.length === 0) yield* TestClock.adjust(1)
      assert.deepStrictEqual(restarts, [30_000])
      // 29 s later it is still waiting
      yield* TestClock.adjust(29_000)
      assert.isUndefined(fiber.pollUnsafe())
      while (fiber.pollUnsafe() === undefined) yield* TestClock.adjust(10)
      const summary = yield* Fiber.join(fiber)
      assert.strictEqual(summary.restarts, 1)
    }))
})

describe("state versions", () => {
  const processor = (version: number, migrate?: Processor.StatefulProcessor["migrate"]): Processor.StatefulProcessor => ({
    _tag: "Stateful",
    key: undefined,
    ports: [],
    stateSchema: Schema.Struct({ total: Schema.Number }) as unknown as Schema.Codec<unknown, unknown>,
    stateVersion: version,
    migrate,
    make: () => ({ state: State.inMemory(), onBatch: (b: Batch.Batch<unknown>) => ({ records: Batch.toArray(b) }), onEnd: () => ({ records: [] }) })
  })

  it.effect("state of another version is refused with a clear error unless a migration handles it", () =>
    Effect.gen(function*() {
      const saved = { version: 1, entries: [["a", { sum: 5 }]] as ReadonlyArray<readonly [string, unknown]> }
      const refused = yield* Effect.flip(decodeState("agg", processor(2), saved))
      assert.instanceOf(refused, StateVersionError)
      assert.include(refused.message, "node 'agg': checkpoint state has version 1, the operator expects 2")
      assert.include(refused.message, "add a migration or run with --from-scratch")
      const migrated = yield* decodeState(
        "agg",
        processor(2, (from, v) => (from === 1 ? { value: { total: (v as { sum: number }).sum } } : undefined)),
        saved
      )
      assert.deepStrictEqual(migrated, [["a", { total: 5 }]])
      // a migration that does not know the version refuses too
      const unknown = yield* Effect.flip(decodeState("agg", processor(3, () => undefined), saved))
      assert.include(unknown.message, "does not handle this version")
      // same version, but the value does not decode: refused, never misread
      const bad = yield* Effect.flip(decodeState("agg", processor(1), saved))
      assert.strictEqual(
        bad.message,
        "node 'agg': checkpoint state (version 1) does not match what the operator keeps: state for key 'a' does not decode (sum: Expected no excess property; total: Missing key); was the node's config changed since the checkpoint? run with --from-scratch to start over"
      )
    }))

  it.effect("a run restoring state it cannot read fails at once, without restarting", () =>
    Effect.gen(function*() {
      const backend = StateBackend.makeMemory()
      yield* backend.write({
        format: 1,
        workflow: "versioned",
        id: 1,
        startedAt: 0,
        completedAt: 1,
        full: true,
        final: false,
        positions: [{ node: "nums", instance: 0, position: 0 }],
        operators: [{ node: "count", instance: 0, version: 99, full: true, upserts: [["0", 1]], deletes: [] }]
      })
      const graph = WorkflowGraph.make({
        name: "versioned",
        execution: { restart_strategy: { type: "fixed-delay", attempts: 5, delay: "1ms" } },
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 10 }, inputs: [] },
          { kind: "processor", id: "count", type: "running_count", config: {}, inputs: ["nums"] },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "versioned" }, inputs: ["count"] }
        ]
      })
      const exit = yield* Effect.exit(
        Runtime.run(graph).pipe(
          Effect.provide(Registry.layer([...definitions, RunningCount])),
          Effect.provideService(StateBackend.StateBackend, backend)
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      assert.isTrue(error?._tag === "Fail" && error.error instanceof NodeError && error.error.cause instanceof StateVersionError)
    }))
})
