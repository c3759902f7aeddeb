/**
 * The kit's declared capabilities (kit/Capabilities.ts): what each shape of connector gets, and —
 * through the built-in definitions that declare them — what `prepare` does with them: a source
 * limited to one instance is refused at parallelism 2 with its reason, a table sink replacing its
 * table too, and the others are accepted.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Builtins from "../../../src/Builtins.ts"
import { Capabilities, Runtime, WorkflowGraph } from "../../../src/index.ts"

describe("Capabilities", () => {
  it("a stream source: seekable, unbounded, its batch size and its one-instance reason when given", () => {
    assert.deepStrictEqual(Capabilities.stream({ batchSize: undefined }), { seekable: true, unbounded: true })
    assert.deepStrictEqual(Capabilities.stream({ batchSize: 500, onlyOne: "one slot" }), {
      seekable: true,
      unbounded: true,
      maxParallelism: 1,
      maxParallelismReason: "one slot",
      preferredBatchSize: 500
    })
  })

  it("a table source: bounded; a query runs as one instance with the reason; encodes passed on", () => {
    assert.deepStrictEqual(Capabilities.table({ batchSize: undefined, query: undefined }), { seekable: true, unbounded: false })
    assert.deepStrictEqual(Capabilities.table({ batchSize: 10, query: "a query is whole", encodes: ["text/csv"] }), {
      seekable: true,
      unbounded: false,
      encodes: ["text/csv"],
      preferredBatchSize: 10,
      maxParallelism: 1,
      maxParallelismReason: "a query is whole"
    })
  })

  it("a table sink: exactly-once unless at-least-once is asked for (upsert stays exactly-once); replace runs alone", () => {
    assert.deepStrictEqual(Capabilities.tableSink({}, 100), { guarantee: "exactly-once", transactional: true, preferredBatchSize: 100 })
    assert.strictEqual(Capabilities.tableSink({ guarantee: "at-least-once" }, 1).guarantee, "at-least-once")
    assert.strictEqual(Capabilities.tableSink({ guarantee: "at-least-once", mode: "upsert" }, 1).guarantee, "exactly-once")
    assert.strictEqual(Capabilities.tableSink({ mode: "replace" }, 1).maxParallelism, 1)
    assert.deepStrictEqual(Capabilities.atLeastOnceSink(), { guarantee: "at-least-once", transactional: false })
  })

  it("pieces: no batch size adds nothing", () => {
    assert.deepStrictEqual(Capabilities.preferredBatch(undefined), {})
    assert.deepStrictEqual(Capabilities.preferredBatch(7), { preferredBatchSize: 7 })
    assert.deepStrictEqual(Capabilities.onlyOne("why"), { maxParallelism: 1, maxParallelismReason: "why" })
  })

  const prepared = (type: string, kind: "source" | "sink", config: object) => {
    const nodes = kind === "source"
      ? [
        { kind: "source" as const, id: "in", type, parallelism: 2, config, inputs: [] },
        { kind: "sink" as const, id: "out", type: "collect", config: {}, inputs: ["in"] }
      ]
      : [
        { kind: "source" as const, id: "in", type: "memory", config: { records: [{ id: 1 }] }, inputs: [] },
        { kind: "sink" as const, id: "out", type, parallelism: 2, config, inputs: ["in"] }
      ]
    return Effect.exit(
      Runtime.prepare(WorkflowGraph.make({ name: `caps-${type}-${Math.random().toString(36).slice(2)}`, nodes })).pipe(Effect.provide(Builtins.layer))
    )
  }

  it.effect("the built-in sources declaring one instance are refused at parallelism 2, with their reasons", () =>
    Effect.gen(function*() {
      const refused: ReadonlyArray<readonly [string, object, string]> = [
        ["mysql", { connection_string: "mysql://root@127.0.0.1:3306/test", query: "SELECT 1" }, "a query is read whole by one instance"],
        ["mysql-cdc", { connection_string: "mysql://root@127.0.0.1:3306/test", tables: ["t"], server_id: 42 }, "one binlog stream is read by one instance"],
        ["postgres-cdc", { connection_string: "postgres://127.0.0.1/x", slot: "s", publication: "p" }, "a replication slot is read by one session"],
        ["nats", { servers: "127.0.0.1:4222", stream: "S", consumer: "c" }, "the node owns one durable consumer"]
      ]
      for (const [type, config, reason] of refused) {
        const exit = yield* prepared(type, "source", config)
        assert.isTrue(Exit.isFailure(exit), type)
        assert.include(String(exit), `runs at most 1 instance (${reason}`, type)
      }
    }))

  it.effect("table sources, a redis-streams group and table sinks not replacing are accepted at parallelism 2", () =>
    Effect.gen(function*() {
      const accepted: ReadonlyArray<readonly [string, "source" | "sink", object]> = [
        ["mysql", "source", { connection_string: "mysql://root@127.0.0.1:3306/test", table: "t" }],
        ["postgres", "source", { connection_string: "postgres://127.0.0.1/x", table: "t" }],
        ["redis-streams", "source", { url: "redis://127.0.0.1:6379", stream: "s", group: "g", consumer: "c" }],
        ["mysql", "sink", { connection_string: "mysql://root@127.0.0.1:3306/test", table: "t", mode: "upsert", key: ["id"] }],
        ["postgres", "sink", { connection_string: "postgres://127.0.0.1/x", table: "t" }]
      ]
      for (const [type, kind, config] of accepted) {
        const exit = yield* prepared(type, kind, config)
        assert.isTrue(Exit.isSuccess(exit), `${type} ${kind}: ${String(exit)}`)
      }
    }))

  it.effect("a table sink replacing its table is refused at parallelism 2", () =>
    Effect.gen(function*() {
      for (const [type, config] of [
        ["mysql", { connection_string: "mysql://root@127.0.0.1:3306/test", table: "t", mode: "replace" }],
        ["postgres", { connection_string: "postgres://127.0.0.1/x", table: "t", mode: "replace" }]
      ] as const) {
        const exit = yield* prepared(type, "sink", config)
        assert.isTrue(Exit.isFailure(exit), type)
        assert.include(String(exit), "runs at most 1 instance", type)
      }
    }))
})
