/**
 * Stop, rescale and resume: a keyed windowed aggregate over generated events is stopped
 * gracefully right after its first checkpoint (every open window kept as it is), then resumed with
 * three instances instead of one. The output equals an uninterrupted run's: no window fired
 * because of the stop, and the key groups carried each key's state to the instance that owns it
 * now. Finally a change the saved state cannot follow (another window size) is refused before
 * anything runs.
 *
 *   node_modules/.bin/node examples/dsl-stop-resume.ts [event count]
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Fiber } from "effect"
import { Builtins, FileBackend, Memory, Runtime, WorkflowGraph } from "dataflare"

const count = Number(process.argv[2] ?? 100_000)

/** Events `{ sensor, at }`: 50 sensors, one event per ms; per sensor and 10-second window: count and last. */
const workflow = (name: string, parallelism: number, windowSize = "10s") =>
  WorkflowGraph.make({
    name: "sensors",
    execution: { batch_size: 100, checkpoint_interval: "50ms" },
    nodes: [
      // generated at 30,000 events/s, so that the stop lands mid-stream even on a busy machine
      { kind: "source", id: "events", type: "generator", config: { count, rate: 30_000, make: (i: number) => ({ sensor: `s${i % 50}`, at: i }) }, inputs: [] },
      {
        kind: "processor",
        id: "per_sensor",
        type: "aggregate",
        parallelism,
        config: {
          group_by: ["sensor"],
          time_field: "at",
          window: { type: "tumbling", size: windowSize },
          window_format: "epoch_ms",
          aggregates: { events: { op: "count" }, last: { op: "max", field: "at" } }
        },
        inputs: ["events"]
      },
      { kind: "sink", id: "out", type: "collect", config: { name }, inputs: ["per_sensor"] }
    ]
  })

const sorted = (rows: ReadonlyArray<unknown>) => rows.map((r) => JSON.stringify(r)).sort()

const program = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-stop-resume-"))),
    (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
  )
  const state = FileBackend.layer({ directory: join(dir, "state"), sync: false })

  // 1. The reference: one uninterrupted run.
  yield* Runtime.run(workflow("reference", 1))
  const expected = sorted(Memory.collected("reference"))

  // 2. One instance, stopped right after its first checkpoint: the windows stay open.
  const first = yield* Effect.gen(function*() {
    let handle: Runtime.RunHandle | undefined
    const run = yield* Effect.forkChild(Runtime.run(workflow("resumed", 1), { onStart: (h) => Effect.sync(() => void (handle = h)) }))
    yield* Effect.yieldNow.pipe(Effect.repeat({ until: () => handle !== undefined }))
    yield* handle!.checkpoint
    yield* handle!.stop
    return yield* Fiber.join(run)
  }).pipe(Effect.provide(state))
  const stoppedAt = first.stopped?.checkpoint
  yield* Console.log(`first run: stopped at checkpoint ${stoppedAt} after ${first.nodes[0].recordsOut} of ${count} events`)

  // 3. Three instances resume where it stopped.
  const second = yield* Runtime.run(workflow("resumed", 3)).pipe(Effect.provide(state))
  yield* Console.log(`second run: resumed from checkpoint ${second.resumedFrom?.checkpoint} with 3 instances, read ${second.nodes[0].recordsOut} events`)
  const got = sorted(Memory.collected("resumed"))
  yield* Console.log(`windows: ${got.length}; equal to an uninterrupted run: ${JSON.stringify(got) === JSON.stringify(expected)}`)

  // 4. Another window size: the saved windows cannot follow, so the run is refused before it opens anything.
  const refused = yield* Effect.flip(Runtime.run(workflow("changed", 3, "20s")).pipe(Effect.provide(state)))
  yield* Console.log(`changed window: ${refused._tag}: ${refused.message}`)
}).pipe(Effect.provide(Builtins.layer))

NodeRuntime.runMain(Effect.scoped(program))
