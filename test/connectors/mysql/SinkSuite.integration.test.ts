/**
 * The sink conformance suite (src/testing/SinkSuite.ts) for the mysql sink against the local
 * MariaDB: exactly-once insert (XA, the default), exactly-once upsert, exactly-once replace and
 * at-least-once — each case in its own database, the checkpoint table beside the table.
 */
import { Effect } from "effect"
import type * as Connector from "../../../src/Connector.ts"
import { MysqlSink } from "../../../src/connectors/mysql/MysqlSink.ts"
import { sinkSuite } from "../../../src/testing/vitest.ts"
import { context, decode, sql, withDatabase } from "./support.ts"

const modes = [
  { name: "exactly-once insert, XA", config: {}, guarantee: "exactly-once" as const },
  { name: "exactly-once upsert", config: { mode: "upsert", key: ["id"] }, guarantee: "exactly-once" as const },
  { name: "exactly-once replace, XA", config: { mode: "replace" }, guarantee: "exactly-once" as const },
  { name: "at-least-once", config: { guarantee: "at-least-once" }, guarantee: "at-least-once" as const }
]

for (const mode of modes) {
  sinkSuite(
    `mysql sink (${mode.name})`,
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_sink_suite")
      // no key but for upsert: a record written twice shows as two rows
      yield* sql(url, `CREATE TABLE t (id INT${"key" in mode.config ? " PRIMARY KEY" : ""}, name VARCHAR(100))`)
      const config = { connection_string: url, table: "t", ...mode.config }
      return {
        open: MysqlSink.open(decode(MysqlSink.config, config), context("sink")),
        read: Effect.map(sql(url, "SELECT id, name FROM t ORDER BY id"), (rows) => rows.map((r) => ({ id: r.id, name: r.name }))),
        guarantee: mode.guarantee,
        workflow: {
          definition: MysqlSink as unknown as Connector.SinkDefinition<unknown, unknown, unknown>,
          config,
          badConfigs: [
            { connection_string: url },
            { ...config, mode: "merge" },
            { ...config, on_error: "dead_letter" },
            { ...config, connection_string: "postgres://x/y" }
          ]
        }
      }
    })
  )
}
