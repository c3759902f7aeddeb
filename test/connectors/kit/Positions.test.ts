/**
 * Positions declared by a definition's Schema: the runtime decodes a stored position before any
 * connector opens and refuses one that is not the source's (naming node, instance, checkpoint) —
 * instead of a reader starting from somewhere else; a valid one resumes exactly. And the one
 * parallelism mechanism: a connector's maxParallelism (with its reason) refused when prepared.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import { RestoreError } from "../../../src/Checkpoint.ts"
import * as Builtins from "../../../src/Builtins.ts"
import { PostgresCdc } from "../../../src/connectors/postgres/PostgresCdc.ts"
import { TablePosition } from "../../../src/connectors/postgres/internal/tableRead.ts"
import { Memory, Positions, Runtime, StateBackend, WorkflowGraph } from "../../../src/index.ts"

const graph = (name: string, sink: string) =>
  WorkflowGraph.make({
    name,
    nodes: [
      { kind: "source", id: "nums", type: "memory", config: { records: [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }] }, inputs: [] },
      { kind: "sink", id: "out", type: "collect", config: { name: sink }, inputs: ["nums"] }
    ]
  })

const checkpoint = (workflow: string, position: unknown) => ({
  format: 1 as const,
  workflow,
  id: 7,
  startedAt: 0,
  completedAt: 1,
  full: true,
  final: false,
  positions: [{ node: "nums", instance: 0, position: position as number }],
  operators: []
})

describe("Positions", () => {
  it.live("a stored position that is not the source's refuses the resume before anything is written", () =>
    Effect.gen(function*() {
      const name = `pos-bad-${Math.random().toString(36).slice(2)}`
      const backend = StateBackend.makeMemory()
      yield* backend.write(checkpoint(name, { offset: "three" }))
      const error = yield* Effect.flip(
        Runtime.run(graph(name, name)).pipe(Effect.provide(Builtins.layer), Effect.provideService(StateBackend.StateBackend, backend))
      )
      assert.instanceOf(error, RestoreError)
      assert.strictEqual((error as RestoreError).node, "nums")
      assert.strictEqual((error as RestoreError).checkpoint, 7)
      assert.include(error.message, 'the position the checkpoint holds for instance 0, {"offset":"three"}, is not a position of this source')
      assert.include(error.message, "--from-scratch")
      assert.deepStrictEqual(Memory.list(name).records(), [])
    }))

  it.live("a stored position that decodes resumes there", () =>
    Effect.gen(function*() {
      const name = `pos-ok-${Math.random().toString(36).slice(2)}`
      const backend = StateBackend.makeMemory()
      yield* backend.write(checkpoint(name, 2))
      yield* Runtime.run(graph(name, name)).pipe(Effect.provide(Builtins.layer), Effect.provideService(StateBackend.StateBackend, backend))
      assert.deepStrictEqual(Memory.list<{ n: number }>(name).records(), [{ n: 3 }, { n: 4 }])
    }))

  it.effect("a reader's seek decodes with the same Schema", () =>
    Effect.gen(function*() {
      const decode = Positions.decoder("test", Positions.FileOffset)
      assert.deepStrictEqual(yield* decode({ offset: 10, line: 2 }), { offset: 10, line: 2 })
      const error = yield* Effect.flip(decode({ offset: -1, line: 2 }))
      assert.match(error.message, /^test seek: not a position of this source: \{"offset":-1,"line":2\} \(/)
    }))

  it("the postgres and postgres-cdc sources declare their positions", () => {
    const cdc = PostgresCdc.position?.({ connection_string: Redacted.make("postgres://x/y"), publication: "p", slot: "s" })
    assert.isDefined(cdc)
    if (cdc === undefined) return
    const ok = (schema: typeof cdc, v: unknown) => Positions.decode(schema, v).ok
    assert.isTrue(ok(cdc, { lsn: "0/16B3748" }))
    assert.isTrue(ok(cdc, { phase: "snapshot", lsn: "0/16B3748", tables: ["public.t"], table: 0, name: "public.t", key: ["42"] }))
    assert.isFalse(ok(cdc, { lsn: "not an lsn" }))
    assert.isFalse(ok(cdc, 17))
    assert.isTrue(ok(TablePosition, { key: ["1"], range: ["1", null] }))
    assert.isTrue(ok(TablePosition, { offset: 3, range: "empty" }))
    assert.isFalse(ok(TablePosition, { offset: -3, range: null }))
  })

  it.effect("a postgres query source with parallelism 2 is refused when prepared, saying why", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Runtime.prepare(
          WorkflowGraph.make({
            name: "query-par",
            nodes: [
              { kind: "source", id: "q", type: "postgres", parallelism: 2, config: { connection_string: "postgres://127.0.0.1/x", query: "SELECT 1" }, inputs: [] },
              { kind: "sink", id: "out", type: "collect", config: {}, inputs: ["q"] }
            ]
          })
        ).pipe(Effect.provide(Builtins.layer))
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(exit), "the postgres source runs at most 1 instance (a query is read whole by one instance; read a table to split it), got parallelism 2")
    }))
})
