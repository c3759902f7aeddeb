import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { readdirSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { threadId } from "node:worker_threads"
import { DefinitionError, NodeError } from "../../src/Errors.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkerMap from "../../src/workers/WorkerMap.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { collected, definitions } from "../runtime/support.ts"

const fixture = fileURLToPath(new URL("./fixtures/transforms.ts", import.meta.url))
const registry = Registry.layer([...definitions, WorkerMap.definition])
const osThreads = () => readdirSync("/proc/self/task").length

const graph = (name: string, config: Record<string, unknown>, count = 2_000, ordered = false) =>
  WorkflowGraph.make({
    name,
    execution: { batch_size: 100 },
    nodes: [
      { kind: "source", id: "nums", type: "numbers", config: { count }, inputs: [] },
      { kind: "processor", id: "heavy", type: "worker_map", config, inputs: ["nums"], parallelism: 2, ordered },
      { kind: "sink", id: "out", type: "collect_test", config: { name }, inputs: ["heavy"] }
    ]
  })

describe("worker_map in a workflow", () => {
  it.effect("runs on worker threads at parallelism 2, and the threads are gone when the run ends", () =>
    Effect.gen(function*() {
      yield* Effect.promise(() => readFile(fixture)) // start libuv's thread pool before counting
      const before = osThreads()
      const summary = yield* Runtime.run(graph("wm_ok", { module: fixture, export: "square", workers: 2 }))
      const out = (collected("wm_ok") as Array<{ id: number; square: number; thread: number }>).slice()
      out.sort((a, b) => a.id - b.id)
      assert.strictEqual(out.length, 2_000)
      assert.deepStrictEqual(out.map((r) => r.square), Array.from({ length: 2_000 }, (_, i) => i * i))
      const threads = new Set(out.map((r) => r.thread))
      assert.isFalse(threads.has(threadId))
      assert.isAtLeast(threads.size, 1)
      assert.isAtMost(threads.size, 2)
      const heavy = summary.nodes.find((n) => n.id === "heavy")!
      assert.strictEqual(heavy.recordsIn, 2_000)
      assert.strictEqual(heavy.recordsOut, 2_000)
      for (let i = 0; i < 50 && osThreads() > before; i++) {
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
      }
      assert.isAtMost(osThreads(), before)
    }).pipe(Effect.provide(registry)))

  it.effect("with ordered: true, two threads work at once and the output keeps the input order", () =>
    Effect.gen(function*() {
      yield* Runtime.run(graph("wm_ordered", { module: fixture, export: "square", workers: 2 }, 3_000, true))
      const out = collected("wm_ordered") as Array<{ id: number; square: number }>
      assert.deepStrictEqual(out.map((r) => r.id), Array.from({ length: 3_000 }, (_, i) => i))
      assert.deepStrictEqual(out.map((r) => r.square), Array.from({ length: 3_000 }, (_, i) => i * i))
    }).pipe(Effect.provide(registry)))

  it.effect("an exception in the user's function fails the run with a NodeError naming the node and the module", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Runtime.run(graph("wm_bad", { module: fixture, export: "explode" }, 50)))
      assert.isTrue(Exit.isFailure(exit))
      const reason = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const error = reason !== undefined && reason._tag === "Fail" ? reason.error : undefined
      assert.instanceOf(error, NodeError)
      const message = (error as NodeError).message
      assert.include(message, "node 'heavy' failed")
      assert.include(message, `worker_map ${fixture}#explode: record 3 of the batch: value undefined is not allowed`)
    }).pipe(Effect.provide(registry)))

  it.effect("a worker that exits fails the run instead of hanging it", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Runtime.run(graph("wm_quit", { module: fixture, export: "quit" }, 500)))
      assert.isTrue(Exit.isFailure(exit))
      const reason = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const error = reason !== undefined && reason._tag === "Fail" ? reason.error : undefined
      assert.instanceOf(error, NodeError)
      assert.include((error as NodeError).message, "worker crashed")
    }).pipe(Effect.provide(registry)))

  it.effect("a module that does not exist is a definition error at config.module", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Runtime.run(graph("wm_missing", { module: "./no/such/module.ts" })))
      assert.isTrue(Exit.isFailure(exit))
      const reason = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const error = reason !== undefined && reason._tag === "Fail" ? reason.error : undefined
      assert.instanceOf(error, DefinitionError)
      const issue = (error as DefinitionError).issues[0]
      assert.include(issue.path, "heavy.config.module")
      assert.include(issue.message, "no such file")
    }).pipe(Effect.provide(registry)))
})
