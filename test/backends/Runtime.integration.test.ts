/**
 * The durable backends under the real runtime: a run that fails and restarts, and a run stopped
 * and resumed by a new backend instance (a new process), give the exactly-once output of an
 * uninterrupted run — with the runtime's own incremental records going through the backend.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import pg from "pg"
import * as FileBackend from "../../src/backends/FileBackend.ts"
import * as PostgresBackend from "../../src/backends/PostgresBackend.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { definitions, ExactlyOnce, exactlyOnceStore, FailOnce, RunningCount } from "../runtime/support.ts"
import { tempDir } from "./support.ts"

const PG_URL = process.env.DATAFLARE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = `state_runtime_${process.pid}_${Math.floor(Math.random() * 1e9)}`
afterAll(async () => {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`)
  await client.end()
})

const registry = Registry.layer([...definitions, ExactlyOnce, FailOnce, RunningCount])
let counter = 0
const unique = (label: string) => `${label}-${process.pid}-${counter++}`

/** numbers → fail_once → running_count (keyed, 2 instances) → exactly-once sink */
const graph = (name: string, failAt = -1) =>
  WorkflowGraph.make({
    name,
    execution: { batch_size: 20, queue_capacity: 2, checkpoint_interval: "2ms", restart_strategy: { type: "fixed-delay" as const, attempts: 3, delay: "1ms" } },
    nodes: [
      { kind: "source", id: "nums", type: "numbers", config: { count: 3000, delay_ms: 1 }, inputs: [] },
      { kind: "processor", id: "maybe_fail", type: "fail_once", config: { at: failAt, flag: name }, inputs: ["nums"] },
      { kind: "processor", id: "count", type: "running_count", config: {}, inputs: ["maybe_fail"], parallelism: 2 },
      { kind: "sink", id: "out", type: "exactly_once_test", config: { name }, inputs: ["count"] }
    ]
  })

const rows = (name: string) =>
  exactlyOnceStore(name).committed.map((r) => {
    const { instance: _, ...rest } = r as { instance?: number }
    return JSON.stringify(rest)
  }).sort()

const backends: ReadonlyArray<readonly [string, Effect.Effect<StateBackend.Backend, unknown, Scope.Scope>]> = [
  ["file", Effect.map(tempDir, (root) => FileBackend.make({ root }))],
  ["postgres", PostgresBackend.make({ url: PG_URL, schema })]
]

for (const [label, acquire] of backends) {
  describe(`${label} backend under the runtime`, () => {
    it.live("a failed run restarts from the backend's checkpoint; output equals an uninterrupted run", () =>
      Effect.gen(function*() {
        const clean = unique("clean")
        yield* Runtime.run(graph(clean)).pipe(Effect.provide(StateBackend.layerMemory))
        const crash = unique(`${label}-crash`)
        const backend = yield* acquire
        const summary = yield* Runtime.run(graph(crash, 1700)).pipe(Effect.provideService(StateBackend.StateBackend, backend))
        assert.strictEqual(summary.restarts, 1)
        assert.strictEqual(exactlyOnceStore(crash).committed.length, 3003)
        assert.deepStrictEqual(rows(crash), rows(clean))
        const infos = yield* backend.list(crash, 100)
        assert.isTrue(infos.some((i) => !i.full), "the runtime wrote incremental checkpoints")
        assert.isTrue(infos[0].final)
      }).pipe(Effect.provide(registry)))

    it.live("a stopped run is resumed by a new backend instance (a new process)", () =>
      Effect.gen(function*() {
        const name = unique(`${label}-resume`)
        const first = yield* Runtime.run(graph(name), { stop: Effect.sleep(40) }).pipe(Effect.provideService(StateBackend.StateBackend, yield* acquireShared(label, name)))
        const readFirst = first.nodes.find((n) => n.id === "nums")!.recordsOut
        assert.isBelow(readFirst, 3000)
        const second = yield* Runtime.run(graph(name)).pipe(Effect.provideService(StateBackend.StateBackend, yield* acquireShared(label, name)))
        assert.strictEqual(readFirst + second.nodes.find((n) => n.id === "nums")!.recordsOut, 3000)
        assert.strictEqual(exactlyOnceStore(name).committed.filter((r) => (r as { n?: number }).n !== undefined).length, 3000)
      }).pipe(Effect.provide(registry)))
  })
}

/** A fresh backend instance over the same store for `name` (same directory, same table). */
const roots = new Map<string, string>()
const acquireShared = (label: string, name: string): Effect.Effect<StateBackend.Backend, unknown, Scope.Scope> =>
  label === "file"
    ? Effect.gen(function*() {
      const root = roots.get(name) ?? (yield* tempDir)
      roots.set(name, root)
      return FileBackend.make({ root })
    })
    : PostgresBackend.make({ url: PG_URL, schema })

