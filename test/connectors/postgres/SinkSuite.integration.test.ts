/**
 * The sink conformance suite (src/testing/SinkSuite.ts) for the postgres sink against the local
 * PostgreSQL: exactly-once (staged, the default), exactly-once upsert, and at-least-once — each
 * case in its own schema and table, the checkpoint table beside it.
 */
import { Effect } from "effect"
import { PostgresSink } from "../../../src/connectors/postgres/PostgresSink.ts"
import type * as Connector from "../../../src/Connector.ts"
import { sinkSuite } from "../../../src/testing/vitest.ts"
import { context, decode, sql, URL, withSchema } from "./support.ts"

const modes = [
  { name: "exactly-once, staged", config: {}, guarantee: "exactly-once" as const },
  { name: "exactly-once, upsert", config: { mode: "upsert", key: ["id"] }, guarantee: "exactly-once" as const },
  { name: "at-least-once", config: { guarantee: "at-least-once" }, guarantee: "at-least-once" as const }
]

for (const mode of modes) {
  sinkSuite(
    `postgres sink (${mode.name})`,
    Effect.gen(function*() {
      const schema = yield* withSchema("df_sink_suite")
      const table = `${schema}.t`
      // no key but for upsert: a record written twice shows as two rows
      yield* sql(`CREATE TABLE ${table} (id int${"key" in mode.config ? " PRIMARY KEY" : ""}, name text)`)
      const config = { connection_string: URL, table, checkpoint_table: `${schema}.checkpoints`, ...mode.config }
      return {
        open: PostgresSink.open(decode(PostgresSink.config, config), context("sink")),
        read: Effect.map(sql<{ id: number; name: string }>(`SELECT id, name FROM ${table} ORDER BY id`), (rows) => rows.map((r) => ({ id: r.id, name: r.name }))),
        guarantee: mode.guarantee,
        workflow: {
          definition: PostgresSink as unknown as Connector.SinkDefinition<unknown, unknown, unknown>,
          config,
          badConfigs: [
            { connection_string: URL },
            { ...config, mode: "merge" },
            { ...config, on_error: "dead_letter" },
            { ...config, two_phase: "prepared", mode: "upsert", key: ["id"] }
          ]
        }
      }
    })
  )
}
