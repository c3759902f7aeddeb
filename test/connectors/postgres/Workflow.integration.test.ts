/**
 * The PostgreSQL connectors inside real workflows: the YAML examples loaded by the YAML loader and
 * run by the runtime (with checkpoints in a state backend), against the local server.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parse } from "../../../dsl/yaml/Yaml.ts"
import { definitions } from "../../../src/connectors/postgres/index.ts"
import { dropSlot } from "../../../src/connectors/postgres/PostgresCdc.ts"
import { FilterDefinition } from "../../../src/processors/filter.ts"
import type { Definition } from "../../../src/Registry.ts"
import * as Registry from "../../../src/Registry.ts"
import * as Runtime from "../../../src/Runtime.ts"
import * as StateBackend from "../../../src/StateBackend.ts"
import { sql, URL, withSchema } from "./support.ts"

const examples = join(import.meta.dirname, "../../../examples")
const registry = Registry.layer([...definitions, FilterDefinition as Definition])

describe("postgres workflows", () => {
  it.live("examples/postgres-to-postgres.yaml: a rerun from the checkpoint reads only new rows", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_wf_pg")
      yield* sql(`CREATE TABLE ${schema}.customers (id int PRIMARY KEY, name text, status text, updated_at timestamptz NOT NULL)`)
      yield* sql(`CREATE TABLE ${schema}.active_customers (id int PRIMARY KEY, name text, status text, updated_at timestamptz)`)
      yield* sql(
        `INSERT INTO ${schema}.customers SELECT g, 'c' || g, CASE WHEN g % 3 = 0 THEN 'inactive' ELSE 'active' END, '2024-01-01'::timestamptz + (g % 50) * interval '1 hour' FROM generate_series(1, 12000) g`
      )
      const env = {
        PG_CONNECTION: URL,
        SOURCE_TABLE: `${schema}.customers`,
        TARGET_TABLE: `${schema}.active_customers`,
        CHECKPOINT_TABLE: `${schema}.checkpoints`
      }
      const file = join(examples, "postgres-to-postgres.yaml")
      const graph = yield* parse(readFileSync(file, "utf8"), { file, env })
      const backend = StateBackend.makeMemory()
      const layer = Layer.mergeAll(registry, Layer.succeed(StateBackend.StateBackend, backend))
      const first = yield* Runtime.run(graph).pipe(Effect.provide(layer))
      const expected = `SELECT * FROM ${schema}.customers WHERE status = 'active' ORDER BY id`
      assert.deepStrictEqual(yield* sql(`SELECT * FROM ${schema}.active_customers ORDER BY id`), yield* sql(expected))
      assert.strictEqual(first.nodes.find((n) => n.id === "customers")?.recordsOut, 12000)
      // New and changed rows (some sharing the last cursor value): the rerun reads only those.
      yield* sql(`UPDATE ${schema}.customers SET name = 'renamed', updated_at = '2024-02-01' WHERE id <= 10`)
      yield* sql(`INSERT INTO ${schema}.customers SELECT g, 'n' || g, 'active', '2024-02-01' FROM generate_series(12001, 12005) g`)
      const second = yield* Runtime.run(graph).pipe(Effect.provide(layer))
      assert.strictEqual(second.nodes.find((n) => n.id === "customers")?.recordsOut, 15)
      assert.deepStrictEqual(yield* sql(`SELECT * FROM ${schema}.active_customers ORDER BY id`), yield* sql(expected))
      const stored = yield* sql(`SELECT workflow, node FROM ${schema}.checkpoints`)
      assert.deepStrictEqual(stored, [{ workflow: "postgres-to-postgres", node: "warehouse#0" }])
    }).pipe(Effect.scoped))

  it.live("examples/postgres-cdc.yaml: replicates a table into another until stopped", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_wf_cdc")
      const id = `${process.pid}_${Math.floor(Math.random() * 1e9)}`
      const slot = `df_wf_slot_${id}`
      const publication = `df_wf_pub_${id}`
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          yield* dropSlot(URL, slot).pipe(Effect.ignore)
          yield* sql(`DROP PUBLICATION IF EXISTS ${publication}`)
        })
      )
      const cols = "(id int PRIMARY KEY, customer text, amount numeric(10,2))"
      yield* sql(`CREATE TABLE ${schema}.orders ${cols}`)
      yield* sql(`CREATE TABLE ${schema}.orders_replica ${cols}`)
      yield* sql(`INSERT INTO ${schema}.orders SELECT g, 'c' || g, g * 1.5 FROM generate_series(1, 2000) g`)
      const env = {
        PG_CONNECTION: URL,
        SOURCE_TABLE: `${schema}.orders`,
        TARGET_TABLE: `${schema}.orders_replica`,
        CHECKPOINT_TABLE: `${schema}.checkpoints`,
        CDC_SLOT: slot,
        CDC_PUBLICATION: publication
      }
      const file = join(examples, "postgres-cdc.yaml")
      const graph = yield* parse(readFileSync(file, "utf8"), { file, env })
      const stop = yield* Deferred.make<void>()
      const layer = Layer.mergeAll(registry, Layer.succeed(StateBackend.StateBackend, StateBackend.makeMemory()))
      const running = yield* Runtime.run(graph, { stop: Deferred.await(stop) }).pipe(Effect.provide(layer), Effect.forkChild)
      yield* sql(`UPDATE ${schema}.orders SET amount = 0 WHERE id <= 100`)
      yield* sql(`DELETE FROM ${schema}.orders WHERE id BETWEEN 500 AND 550`)
      yield* sql(`INSERT INTO ${schema}.orders SELECT g, 'new', 1 FROM generate_series(2001, 2100) g`)
      const source = `SELECT * FROM ${schema}.orders ORDER BY id`
      const replica = `SELECT * FROM ${schema}.orders_replica ORDER BY id`
      let equal = false
      for (let i = 0; i < 150 && !equal; i++) {
        yield* Effect.sleep(200)
        equal = JSON.stringify(yield* sql(source)) === JSON.stringify(yield* sql(replica))
      }
      yield* Deferred.succeed(stop, undefined)
      yield* Fiber.join(running)
      assert.isTrue(equal, "the replica did not catch up")
      assert.deepStrictEqual(yield* sql(replica), yield* sql(source))
      assert.strictEqual((yield* sql(replica)).length, 2049)
    }).pipe(Effect.scoped))

  it.live("examples/postgres-table-copy.yaml: the COPY text goes through, every value exact", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_wf_copy")
      yield* sql(`CREATE TABLE ${schema}.events (id bigint PRIMARY KEY, at timestamptz, payload jsonb, amount numeric, tags text[])`)
      yield* sql(
        `INSERT INTO ${schema}.events SELECT g, '2024-01-01'::timestamptz - g * interval '1 microsecond', jsonb_build_object('n', g, 'big', 12345678901234567890, 'd', 2.50), g / 7.0, ARRAY['t' || g, NULL] FROM generate_series(1, 25000) g`
      )
      yield* sql(`INSERT INTO ${schema}.events VALUES (0, 'infinity', 'null', 'NaN', '{}'), (-1, NULL, NULL, NULL, NULL)`)
      yield* sql(`CREATE TABLE ${schema}.events_copy (LIKE ${schema}.events INCLUDING ALL)`)
      const env = {
        PG_CONNECTION: URL,
        SOURCE_TABLE: `${schema}.events`,
        TARGET_TABLE: `${schema}.events_copy`,
        CHECKPOINT_TABLE: `${schema}.checkpoints`
      }
      const file = join(examples, "postgres-table-copy.yaml")
      const graph = yield* parse(readFileSync(file, "utf8"), { file, env })
      const layer = Layer.mergeAll(registry, Layer.succeed(StateBackend.StateBackend, StateBackend.makeMemory()))
      const planned = Runtime.plan(yield* Runtime.prepare(graph).pipe(Effect.provide(layer))).tasks.find((t) => t.id === "events")
      assert.strictEqual(planned?._tag === "Source" ? planned.encoding : undefined, "application/x-postgres-copy")
      const summary = yield* Runtime.run(graph).pipe(Effect.provide(layer))
      assert.strictEqual(summary.nodes.find((n) => n.id === "events_copy")?.recordsOut, 25002)
      const digest = (table: string) =>
        sql(`SELECT md5(string_agg(t::text, '|' ORDER BY id)) AS m, count(*)::int AS n FROM ${schema}.${table} t`)
      assert.deepStrictEqual(yield* digest("events_copy"), yield* digest("events"))
    }).pipe(Effect.scoped))
})
