/**
 * A workflow stopped inside a transaction larger than a batch (postgres-cdc → postgres, exactly
 * once), then resumed from that checkpoint: every row of the transaction written exactly once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { parse } from "../../../dsl/yaml/Yaml.ts"
import { definitions } from "../../../src/connectors/postgres/index.ts"
import type { Definition } from "../../../src/Registry.ts"
import * as Registry from "../../../src/Registry.ts"
import * as Runtime from "../../../src/Runtime.ts"
import * as StateBackend from "../../../src/StateBackend.ts"
import { cdcSourceYaml, names } from "./cdcSupport.ts"
import { sql, URL, withSchema } from "./support.ts"

const registry = Registry.layer([...(definitions as ReadonlyArray<Definition>)])
const ROWS = 60_000

describe("postgres-cdc workflow: a checkpoint inside a large transaction", () => {
  it.live("a run stopped inside the transaction, resumed: every change written once", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_bigtx_wf")
      const { publication, slot } = yield* names
      yield* sql(`CREATE TABLE ${schema}.src (id int PRIMARY KEY, v text)`)
      yield* sql(`CREATE TABLE ${schema}.dst (id int PRIMARY KEY, v text)`)
      // every row write the sink commits, duplicates included (an upsert of a row already there is an UPDATE)
      yield* sql(`CREATE TABLE ${schema}.writes (id int)`)
      yield* sql(
        `CREATE FUNCTION ${schema}.log_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${schema}.writes VALUES (NEW.id); RETURN NEW; END $$`
      )
      yield* sql(`CREATE TRIGGER log_write AFTER INSERT OR UPDATE ON ${schema}.dst FOR EACH ROW EXECUTE FUNCTION ${schema}.log_write()`)
      const yaml = `
name: cdc-bigtx
version: "1.0"
execution:
  batch_size: 200
  checkpoint_interval: "50ms"
${cdcSourceYaml({ publication, slot }, [`${schema}.src`], { max_buffer_bytes: "100000" })}
destinations:
  copy:
    type: postgres
    inputs: [changes]
    config:
      connection_string: "${URL}"
      table: "${schema}.dst"
      mode: upsert
      key: [id]
      checkpoint_table: "${schema}.checkpoints"
      workflow: cdc-bigtx
`
      const graph = yield* parse(yaml, { file: "cdc-bigtx.yaml", env: {} })
      const layer = Layer.mergeAll(registry, Layer.succeed(StateBackend.StateBackend, StateBackend.makeMemory()))
      const count = (table: string) => Effect.map(sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.${table}`), (r) => r[0].n)

      // the first run: stopped once part of the one big transaction is written
      const stop = yield* Deferred.make<void>()
      const first = yield* Runtime.run(graph, { stop: Deferred.await(stop) }).pipe(Effect.provide(layer), Effect.forkChild)
      // the slot exists once the source has started
      for (let i = 0; i < 200 && (yield* sql(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1`, [slot])).length === 0; i++) {
        yield* Effect.sleep(50)
      }
      yield* sql(`INSERT INTO ${schema}.src SELECT g, repeat('v', 30) FROM generate_series(1, ${ROWS}) g`)
      let written = 0
      for (let i = 0; i < 1200 && written === 0; i++) {
        yield* Effect.sleep(25)
        written = yield* count("dst")
      }
      yield* Deferred.succeed(stop, undefined)
      const summary = yield* Fiber.join(first)
      assert.isDefined(summary.stopped)
      const partly = yield* count("dst")
      assert.isTrue(partly > 0 && partly < ROWS, `stopped inside the transaction (${partly} of ${ROWS} written)`)

      // the rerun resumes inside the transaction
      const stop2 = yield* Deferred.make<void>()
      const second = yield* Runtime.run(graph, { stop: Deferred.await(stop2) }).pipe(Effect.provide(layer), Effect.forkChild)
      for (let i = 0; i < 1200 && (yield* count("dst")) < ROWS; i++) yield* Effect.sleep(50)
      yield* Deferred.succeed(stop2, undefined)
      yield* Fiber.join(second)
      assert.strictEqual(yield* count("dst"), ROWS)
      // no row written twice: the part read before the checkpoint was skipped, not replayed
      assert.strictEqual(yield* count("writes"), ROWS)
    }).pipe(Effect.scoped), 180_000)
})
