/**
 * The lag of a `postgres-cdc` source (WAL bytes of its slot not yet confirmed), read from
 * `/metrics` of `dataflare run --http` against the local PostgreSQL, with rows arriving while it
 * runs; the records counted on the way to the sink are those inserted.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cdcToNdjson } from "../connectors/postgres/cdcSupport.ts"
import { sql } from "../connectors/postgres/support.ts"
import { eventually, sampleOf, scrape, servedAt, start } from "./support.ts"

describe("CDC lag in /metrics (process, PostgreSQL)", () => {
  it.live("dataflare_source_lag_bytes of the CDC source, and the changes counted per node", () =>
    Effect.gen(function*() {
      const { dir, schema } = yield* cdcToNdjson("cdc-metrics", "df_obs_lag", `{ checkpoint_interval: "300ms" }`)
      const running = yield* start(dir, ["run", "cdc.yaml", "--http", "127.0.0.1:0", "--state-dir", "state"])
      // (the slot and publication are dropped after it, by cdcToNdjson's scope)
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          running.child.kill("SIGKILL")
          yield* Effect.promise(() => running.exited)
        })
      )
      const base = yield* servedAt(running)
      // ready once the slot is open and a first checkpoint has completed
      yield* eventually(Effect.flatMap(scrape(base), (m) =>
        sampleOf(m, "dataflare_workflow_ready", { workflow: "cdc-metrics" }) === 1 ? Effect.void : Effect.fail("not yet")))
      yield* sql(`INSERT INTO ${schema}.t SELECT g FROM generate_series(1, 200) g`)
      // the series appears once the source has measured its lag (at its first heartbeat)
      const metrics = yield* eventually(Effect.flatMap(scrape(base), (m) =>
        sampleOf(m, "dataflare_records_out_total", { node: "out" }) === 200 &&
          m.some((f) => f.name === "dataflare_source_lag_bytes")
          ? Effect.succeed(m)
          : Effect.fail("not yet")))
      // the CDC source measures its lag in bytes: the series is on the source, a number of bytes
      const lag = sampleOf(metrics, "dataflare_source_lag_bytes", { workflow: "cdc-metrics", node: "changes", type: "postgres-cdc", instance: "0" })
      assert.isTrue(Number.isFinite(lag) && lag >= 0, `lag ${lag}`)
      assert.strictEqual(sampleOf(metrics, "dataflare_records_out_total", { node: "changes" }), 200)
      assert.strictEqual(sampleOf(metrics, "dataflare_connector_open", { node: "changes" }), 1)
      running.child.kill("SIGINT")
      assert.strictEqual(yield* Effect.promise(() => running.exited), 0, running.stderr())
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
