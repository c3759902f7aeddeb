import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer } from "effect"
import { NodeError } from "../../src/Errors.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { collected, definitions, ExactlyOnce, exactlyOnceStore, FailOnce, RunningCount } from "./support.ts"

const registry = Registry.layer([...definitions, ExactlyOnce, FailOnce, RunningCount])

/** numbers → fail_once → running_count (keyed) → sink */
const graph = (name: string, options: { readonly failAt?: number; readonly sink: string; readonly sinkType: string; readonly restart?: boolean }) =>
  WorkflowGraph.make({
    name,
    execution: {
      batch_size: 20,
      queue_capacity: 2,
      checkpoint_interval: "2ms",
      ...(options.restart === false ? {} : { restart_strategy: { type: "fixed-delay" as const, attempts: 3, delay: "1ms" } })
    },
    nodes: [
      { kind: "source", id: "nums", type: "numbers", config: { count: 4000, delay_ms: 1 }, inputs: [] },
      {
        kind: "processor",
        id: "maybe_fail",
        type: "fail_once",
        config: { at: options.failAt ?? -1, flag: name },
        inputs: ["nums"]
      },
      { kind: "processor", id: "count", type: "running_count", config: {}, inputs: ["maybe_fail"], parallelism: 2 },
      { kind: "sink", id: "out", type: options.sinkType, config: { name: options.sink }, inputs: ["count"] }
    ]
  })

const sortRows = (rows: ReadonlyArray<unknown>) => rows.map((r) => JSON.stringify(r)).sort()

describe("checkpoints and recovery", () => {
  it.live("after a task failure the restarted run's exactly-once output equals an uninterrupted run", () =>
    Effect.gen(function*() {
      yield* Runtime.run(graph("eo-clean", { sink: "eo-clean", sinkType: "exactly_once_test" }))
      const restoredFrom: Array<string> = []
      const summary = yield* Runtime.run(graph("eo-crash", { sink: "eo-crash", sinkType: "exactly_once_test", failAt: 2500 }), {
        onRestart: (r) =>
          Effect.sync(() => {
            restoredFrom.push(r.error.message)
          })
      })
      assert.strictEqual(summary.restarts, 1)
      assert.include(restoredFrom[0], "injected failure at 2500")
      const backend = yield* StateBackend.StateBackend
      const infos = yield* backend.list("eo-crash", 100)
      // checkpoints completed before the failure, so the restart resumed from one of them
      assert.isAbove(infos.filter((i) => !i.final).length, 2)
      const clean = exactlyOnceStore("eo-clean").committed
      const crashed = exactlyOnceStore("eo-crash").committed
      assert.strictEqual(clean.length, 4000 + 3) // every record, plus one final row per group
      assert.deepStrictEqual(sortRows(crashed.map(dropInstance)), sortRows(clean.map(dropInstance)))
    }).pipe(Effect.provide(Layer.merge(registry, StateBackend.layerMemory))))

  it.live("an at-least-once sink may see duplicates after a restart, but nothing is lost", () =>
    Effect.gen(function*() {
      yield* Runtime.run(graph("alo-crash", { sink: "alo-crash", sinkType: "collect_test", failAt: 3100 }))
      // the collect_test sink keeps only the last attempt's list; with replay from the last
      // checkpoint, the last attempt alone must hold everything after that checkpoint, and the
      // final per-group counts must be exact (state restored, not recounted from zero)
      const rows = collected("alo-crash") as Array<{ group: number; final?: number }>
      const finals = rows.filter((r) => r.final !== undefined).sort((a, b) => a.group - b.group)
      assert.deepStrictEqual(finals.map((r) => r.final), [1334, 1333, 1333])
    }).pipe(Effect.provide(Layer.merge(registry, StateBackend.layerMemory))))

  it.live("without a restart strategy a failure fails the run with the node's name", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Runtime.run(graph("no-restart", { sink: "no-restart", sinkType: "exactly_once_test", failAt: 100, restart: false }))
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      assert.isTrue(error?._tag === "Fail" && error.error instanceof NodeError && error.error.node === "maybe_fail")
    }).pipe(Effect.provide(Layer.merge(registry, StateBackend.layerMemory))))

  it.live("checkpoint metadata is kept: positions, incremental state, a final checkpoint", () =>
    Effect.gen(function*() {
      const backend = StateBackend.makeMemory()
      yield* Runtime.run(graph("meta", { sink: "meta", sinkType: "exactly_once_test" })).pipe(
        Effect.provideService(StateBackend.StateBackend, backend)
      )
      const infos = yield* backend.list("meta", 100)
      assert.isAbove(infos.length, 1)
      const newest = infos[0]
      assert.isTrue(newest.final)
      assert.deepStrictEqual(
        newest.positions.map((p) => [p.node, p.instance, p.position]),
        [["nums", 0, 4000]]
      )
      // ids increase by one
      const ids = infos.map((i) => i.id).reverse()
      assert.deepStrictEqual(ids, ids.map((_, i) => ids[0] + i))
      // a run of a completed workflow resumes from its final checkpoint and reads nothing new
      const again = yield* Runtime.run(graph("meta", { sink: "meta", sinkType: "exactly_once_test" })).pipe(
        Effect.provideService(StateBackend.StateBackend, backend)
      )
      assert.strictEqual(again.nodes.find((n) => n.id === "nums")!.recordsOut, 0)
      assert.strictEqual(exactlyOnceStore("meta").committed.length, 4003)
    }).pipe(Effect.provide(registry)))

  it.live("graceful stop drains, checkpoints and exits; the next run resumes where it stopped", () =>
    Effect.gen(function*() {
      const backend = StateBackend.makeMemory()
      const first = yield* Runtime.run(graph("stop", { sink: "stop", sinkType: "exactly_once_test" }), {
        stop: Effect.sleep(5)
      }).pipe(Effect.provideService(StateBackend.StateBackend, backend))
      const readFirst = first.nodes.find((n) => n.id === "nums")!.recordsOut
      assert.isBelow(readFirst, 4000)
      const second = yield* Runtime.run(graph("stop", { sink: "stop", sinkType: "exactly_once_test" })).pipe(
        Effect.provideService(StateBackend.StateBackend, backend)
      )
      assert.strictEqual(readFirst + second.nodes.find((n) => n.id === "nums")!.recordsOut, 4000)
      const rows = exactlyOnceStore("stop").committed.filter((r) => (r as { n?: number }).n !== undefined)
      assert.strictEqual(rows.length, 4000)
    }).pipe(Effect.provide(registry)))
})

const dropInstance = (r: unknown) => {
  const { instance: _, ...rest } = r as { instance?: number }
  return rest
}

describe("checkpoints on demand", () => {
  it.live("RunHandle.checkpoint takes a checkpoint now and waits for it; stop ends the run gracefully", () =>
    Effect.gen(function*() {
      const backend = StateBackend.makeMemory()
      let handle: Runtime.RunHandle | undefined
      const g = WorkflowGraph.make({
        name: "on-demand",
        execution: { batch_size: 10 },
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 100_000, delay_ms: 1 }, inputs: [] },
          { kind: "sink", id: "out", type: "exactly_once_test", config: { name: "on-demand" }, inputs: ["nums"] }
        ]
      })
      const fiber = yield* Effect.forkChild(
        Runtime.run(g, {
          onStart: (h) =>
            Effect.sync(() => {
              handle = h
            })
        }).pipe(Effect.provideService(StateBackend.StateBackend, backend))
      )
      yield* Effect.sleep(30)
      assert.isDefined(handle)
      assert.isTrue(yield* handle!.checkpoint)
      const infos = yield* backend.list("on-demand", 10)
      assert.strictEqual(infos.length, 1)
      assert.isFalse(infos[0].final)
      assert.isAbove(Number(infos[0].positions[0].position), 0)
      yield* handle!.stop
      const summary = yield* Fiber.join(fiber)
      assert.isBelow(summary.nodes.find((n) => n.id === "nums")!.recordsOut, 100_000)
      // a stop checkpoints where the run is: not the final checkpoint of a completed run
      const after = yield* backend.list("on-demand", 10)
      assert.isFalse(after[0].final)
      assert.deepStrictEqual(summary.stopped, { checkpoint: after[0].id })
    }).pipe(Effect.provide(registry)))

  it.live("RunHandle.drain ends the inputs: the final checkpoint marks the run complete", () =>
    Effect.gen(function*() {
      const backend = StateBackend.makeMemory()
      let handle: Runtime.RunHandle | undefined
      const g = WorkflowGraph.make({
        name: "on-demand-drain",
        execution: { batch_size: 10 },
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 100_000, delay_ms: 1 }, inputs: [] },
          { kind: "sink", id: "out", type: "exactly_once_test", config: { name: "on-demand-drain" }, inputs: ["nums"] }
        ]
      })
      const fiber = yield* Effect.forkChild(
        Runtime.run(g, { onStart: (h) => Effect.sync(() => void (handle = h)) }).pipe(
          Effect.provideService(StateBackend.StateBackend, backend)
        )
      )
      yield* Effect.sleep(30)
      yield* handle!.drain
      const summary = yield* Fiber.join(fiber)
      assert.isBelow(summary.nodes.find((n) => n.id === "nums")!.recordsOut, 100_000)
      assert.isUndefined(summary.stopped)
      const after = yield* backend.list("on-demand-drain", 10)
      assert.isTrue(after[0].final)
    }).pipe(Effect.provide(registry)))
})
