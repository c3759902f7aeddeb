import * as os from "node:os"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schedule, Schema } from "effect"
import pg from "pg"
import * as PostgresBackend from "../../src/backends/PostgresBackend.ts"
import * as Batch from "../../src/Batch.ts"
import * as Connector from "../../src/Connector.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import { StateBackendError } from "../../src/StateBackend.ts"
import { backendSuite } from "../../src/testing/vitest.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { Numbers } from "../runtime/support.ts"
import { checkRewind, entriesOf, record, withWarnings } from "./support.ts"

const URL = process.env.DATAFLARE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = `state_suite_${process.pid}_${Math.floor(Math.random() * 1e9)}`

const query = async <R extends pg.QueryResultRow>(text: string, params: Array<unknown> = []): Promise<Array<R>> => {
  const client = new pg.Client({ connectionString: URL })
  await client.connect()
  try {
    return (await client.query<R>(text, params)).rows
  } finally {
    await client.end()
  }
}
const sql = <R extends pg.QueryResultRow>(text: string, params: Array<unknown> = []) => Effect.promise(() => query<R>(text, params))

afterAll(() => query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`))

backendSuite("postgres backend", PostgresBackend.make({ url: URL, schema }))

describe("postgres backend", () => {
  it.live("creates <prefix>_checkpoints in the schema, and reuses it", () =>
    Effect.gen(function*() {
      // several processes starting at once all find (or create) the one table
      const backends = yield* Effect.all(Array.from({ length: 4 }, () => PostgresBackend.make({ url: URL, schema, tablePrefix: "custom" })), {
        concurrency: "unbounded"
      })
      const columns = yield* sql<{ column_name: string; data_type: string }>(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'custom_checkpoints' ORDER BY ordinal_position",
        [schema]
      )
      assert.deepStrictEqual(columns.map((c) => [c.column_name, c.data_type]), [
        ["workflow", "text"],
        ["id", "bigint"],
        ["full_snapshot", "boolean"],
        ["record", "json"],
        ["info", "json"],
        ["completed_at", "timestamp with time zone"]
      ])
      yield* backends[0].write(record("layout", 7, true, [["a", 1]]))
      const rows = yield* sql<{ id: string; full_snapshot: boolean; completed: string }>(
        `SELECT id, full_snapshot, (extract(epoch from completed_at) * 1000)::bigint AS completed FROM ${pg.escapeIdentifier(schema)}.custom_checkpoints WHERE workflow = 'layout'`
      )
      assert.deepStrictEqual(rows, [{ id: "7", full_snapshot: true, completed: "7003" }])
      assert.deepStrictEqual(yield* entriesOf(backends[3], "layout"), [["a", 1]])
    }))

  it.live("two processes share state: one takes over where the other stopped", () =>
    Effect.gen(function*() {
      const first = yield* PostgresBackend.make({ url: URL, schema })
      const second = yield* PostgresBackend.make({ url: URL, schema })
      for (let id = 1; id <= 3; id++) yield* first.write(record("shared", id, id === 1, [[`k${id}`, id]]))
      assert.strictEqual((yield* second.latest("shared"))?.id, 3)
      yield* second.write(record("shared", 4, false, [["k4", 4]], ["k1"]))
      assert.deepStrictEqual(yield* entriesOf(first, "shared"), [["k2", 2], ["k3", 3], ["k4", 4]])
      assert.deepStrictEqual((yield* first.list("shared", 10)).map((i) => i.id), [4, 3, 2, 1])
      // both writing their own workflows at the same time
      yield* Effect.all([
        Effect.forEach([1, 2, 3, 4, 5], (id) => first.write(record("p1", id, id === 1, [[`a${id}`, id]]))),
        Effect.forEach([1, 2, 3, 4, 5], (id) => second.write(record("p2", id, id === 1, [[`b${id}`, id]])))
      ], { concurrency: 2 })
      assert.strictEqual((yield* second.latest("p1"))?.operators.get("op/0")?.entries.length, 5)
      assert.strictEqual((yield* first.latest("p2"))?.operators.get("op/0")?.entries.length, 5)
    }))

  it.live("a record that does not decode is skipped with a warning; the next write discards the abandoned timeline", () =>
    Effect.gen(function*() {
      const backend = yield* PostgresBackend.make({ url: URL, schema })
      const { warnings } = yield* withWarnings(checkRewind(backend, "rewind", (id) =>
        Effect.asVoid(sql(`UPDATE ${pg.escapeIdentifier(schema)}.dataflare_state_checkpoints SET record = '{"format":2}' WHERE workflow = 'rewind' AND id = $1`, [id]))))
      assert.isTrue(warnings.some((w) => w.includes("ignoring checkpoint 3 of 'rewind'")), warnings.join("\n"))
    }))

  it.live("a server that cannot be reached is a StateBackendError without the password", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(PostgresBackend.make({ url: "postgres://postgres:s3cret-pw@127.0.0.1:1/test" }))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.flatMap((r) => (r._tag === "Fail" ? [r.error] : []))[0] : undefined
      assert.instanceOf(error, StateBackendError)
      assert.include(error?.message, "ECONNREFUSED")
      assert.notInclude(error?.message, "s3cret-pw")
    }))
})

describe("postgres backend: one writer per workflow", () => {
  /** numbers (slow) → a sink that counts its opens, on the PostgreSQL backend `backend`. */
  const opened = new Map<string, number>()
  const Probe = Connector.sink({
    type: "probe",
    description: "counts opens",
    config: Schema.Struct({ name: Schema.String }),
    capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
    check: () => Effect.void,
    open: (config) =>
      Effect.sync(() => {
        opened.set(config.name, (opened.get(config.name) ?? 0) + 1)
        return { writeBatch: (batch: Batch.Batch<unknown>) => Effect.succeed({ written: Batch.size(batch) }), flush: Effect.void }
      })
  })
  const graph = (name: string, sink: string) =>
    WorkflowGraph.make({
      name,
      execution: { batch_size: 10, checkpoint_interval: "10ms" },
      nodes: [
        { kind: "source", id: "nums", type: "numbers", config: { count: 1_000_000, delay_ms: 1 }, inputs: [] },
        { kind: "sink", id: "out", type: "probe", config: { name: sink }, inputs: ["nums"] }
      ]
    })
  const registry = Registry.layer([Numbers, Probe])

  it.live("a second runtime of a running workflow is refused before it opens a connector, naming the holder", () =>
    Effect.gen(function*() {
      const name = `lock-${process.pid}-${Math.floor(Math.random() * 1e9)}`
      const first = yield* PostgresBackend.make({ url: URL, schema })
      const second = yield* PostgresBackend.make({ url: URL, schema })
      let handle: Runtime.RunHandle | undefined
      const running = yield* Effect.forkChild(
        Runtime.run(graph(name, "first"), { onStart: (h) => Effect.sync(() => void (handle = h)) }).pipe(
          Effect.provideService(StateBackend.StateBackend, first)
        )
      )
      // wait for the first checkpoint: the first runtime holds the lease and writes
      yield* Effect.sleep(20).pipe(Effect.repeat({ until: () => handle !== undefined }))
      assert.isTrue(yield* handle!.checkpoint)
      const refused = yield* Effect.flip(Runtime.run(graph(name, "second")).pipe(Effect.provideService(StateBackend.StateBackend, second)))
      assert.instanceOf(refused, StateBackendError)
      assert.strictEqual((refused as StateBackendError).reason, "LockHeld")
      assert.include(refused.message, `process ${process.pid} on ${os.hostname()}`)
      assert.isUndefined(opened.get("second"), "the refused run opened no connector")
      yield* handle!.stop
      const summary = yield* Fiber.join(running)
      assert.isDefined(summary.stopped)
      // released: the next run resumes
      const next = yield* Runtime.run(graph(name, "third"), { stop: Effect.void }).pipe(Effect.provideService(StateBackend.StateBackend, second))
      assert.strictEqual(next.resumedFrom?.checkpoint, summary.stopped?.checkpoint)
    }).pipe(Effect.provide(registry)))

  it.live("a writer whose lock session was lost is fenced off once another process takes the workflow over", () =>
    Effect.gen(function*() {
      const name = `fence-${process.pid}-${Math.floor(Math.random() * 1e9)}`
      const first = yield* PostgresBackend.make({ url: URL, schema })
      const second = yield* PostgresBackend.make({ url: URL, schema })
      yield* first.lock!(name)
      yield* first.write(record(name, 1, true, [["a", 1]]))
      // the first lease's session dies (network, server restart): its advisory lock goes with it
      const killed = yield* sql<{ ok: boolean }>(
        `SELECT pg_terminate_backend(l.pid) AS ok FROM pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
           AND l.classid::bigint = (hashtext($1)::bigint & 4294967295) AND l.objid::bigint = (hashtext($2)::bigint & 4294967295)`,
        [`dataflare-writer:${schema}.dataflare_state_checkpoints`, name]
      )
      assert.deepStrictEqual(killed.map((k) => k.ok), [true])
      // another process takes the workflow over (retried: the server ends the session asynchronously)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* second.lock!(name).pipe(Effect.retry({ times: 50, schedule: Schedule.spaced("20 millis") }))
        const fenced = yield* Effect.flip(first.write(record(name, 2, false, [["b", 2]])))
        assert.strictEqual(fenced.reason, "Fenced")
        assert.include(fenced.message, "lost its writer lease")
        yield* second.write(record(name, 2, false, [["c", 3]]))
        assert.deepStrictEqual(yield* entriesOf(second, name), [["a", 1], ["c", 3]])
      }))
    }))
})

describe("postgres backend: checksums", () => {
  it.live("a record edited in the table is detected and not followed: the older chain is restored, with a warning", () =>
    Effect.gen(function*() {
      const name = `checksum-${process.pid}-${Math.floor(Math.random() * 1e9)}`
      const backend = yield* PostgresBackend.make({ url: URL, schema })
      const at = (id: number, offset: number) => ({ ...record(name, id, true, [["k", id]]), format: 2 as const, positions: [{ node: "src", instance: 0, position: { offset } }] })
      yield* backend.write(at(1, 100))
      yield* backend.write(at(2, 200))
      yield* sql(
        `UPDATE ${pg.escapeIdentifier(schema)}.dataflare_state_checkpoints SET record = replace(record::text, '"offset":200', '"offset":900')::json WHERE workflow = $1 AND id = 2`,
        [name]
      )
      const { value: restored, warnings } = yield* withWarnings(backend.latest(name))
      assert.strictEqual(restored?.id, 1)
      assert.isTrue(warnings.some((w) => w.includes("checkpoint 2") && w.includes("checksum does not match")), warnings.join("\n"))
    }))
})
