/**
 * The `postgres-cdc` source through the shared source conformance suite, as an unbounded source:
 * per case a table, publication and slot of its own (the slot made by a first reader before the
 * changes), then 30 changes in three transactions (a 10-row insert, 10 single-row inserts in one
 * transaction, a 10-row update). The same records whatever the batch size, a new reader seeking to
 * any batch's position (inside a transaction too) continues exactly there, nothing after the last
 * change, a slow pipeline (1,500 changes read with a buffer of 1,000) never makes the reader
 * hold more than its bound and loses nothing, the slot's `confirmed_flush_lsn` moves only with a
 * commit (to a transaction's end), never before, and a reader opened without `seek` then goes on
 * right after it (`upstream`), and an unreachable server fails with a tagged error. (The slot is
 * confirmed only at the end of a whole transaction: a reader opened without `seek` after a commit
 * inside one reads its start again, so the broker-style `acknowledges` case, which commits after
 * half the records, does not apply; `upstream` commits at a transaction's end; a restore seeks.)
 */
import { Effect } from "effect"
import type { Position } from "../../../src/Batch.ts"
import { lsnValue } from "../../../src/connectors/postgres/internal/replication.ts"
import { PostgresCdc } from "../../../src/connectors/postgres/PostgresCdc.ts"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { names } from "./cdcSupport.ts"
import { context, decode, sql, URL, withSchema } from "./support.ts"

const open = (config: object, batchSize: number) =>
  PostgresCdc.open(decode(PostgresCdc.config, { connection_string: URL, ...config }), context("cdc", batchSize))

/** A table, publication and slot of their own, the slot made before `changes` run; reads with `batchSize`. */
const source = (changes: (table: string) => ReadonlyArray<string>, batchSize: number) =>
  Effect.gen(function*() {
    const schema = yield* withSchema("df_cdc_suite")
    const n = yield* names
    const table = `${schema}.t`
    yield* sql(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`)
    const config = { publication: n.publication, create_publication: true, slot: n.slot, tables: [table] }
    yield* Effect.scoped(Effect.flatMap(open(config, batchSize), (reader) => reader.readBatch(1)))
    for (const statement of changes(table)) yield* sql(statement)
    const acknowledged = Effect.map(
      sql<{ lsn: string | null }>(`SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`, [n.slot]),
      (r) => r[0]?.lsn ?? null
    )
    return { open: open(config, batchSize), acknowledged }
  })

/** A position at a transaction's end (`{ lsn }`, not inside a transaction larger than a batch: `tx`, `skip`). */
const transactionEnd = (p: Position): p is { readonly lsn: string } =>
  typeof p === "object" && p !== null && "lsn" in p && typeof p.lsn === "string" && !("tx" in p) && !("phase" in p)

const rows = (from: number, count: number, v: string) => Array.from({ length: count }, (_, i) => `(${from + i}, '${v}')`).join(", ")

sourceSuite(
  "postgres-cdc source conformance",
  source((t) => [
    `INSERT INTO ${t} VALUES ${rows(0, 10, "a")}`,
    `BEGIN; ${Array.from({ length: 10 }, (_, i) => `INSERT INTO ${t} VALUES (${100 + i}, 'b');`).join(" ")} COMMIT`,
    `UPDATE ${t} SET v = 'c' WHERE id < 10`
  ], 500),
  {
    batchSizes: [1, 7, 1000],
    seekTargets: 8,
    // a loaded machine may take seconds to start streaming 1,500 changes
    unbounded: { records: 30, idleMs: 5000 },
    // 1,500 changes in transactions of 500, read with batches of 10: a buffer of 1,000 changes
    backpressure: {
      records: 1500,
      source: source((t) => [0, 1, 2].map((k) => `INSERT INTO ${t} VALUES ${rows(k * 500, 500, "a")}`), 10)
    },
    // the slot's confirmed_flush_lsn reaches a transaction's end only once a commit covers it
    upstream: {
      covers: (acknowledged, position) =>
        typeof acknowledged === "string" && transactionEnd(position) && lsnValue(acknowledged) >= lsnValue(position.lsn),
      at: transactionEnd
    },
    misconfigured: open({ connection_string: "postgres://postgres@127.0.0.1:1/test", publication: "p", slot: "s", tables: ["t"] }, 500),
    timeout: 120_000
  }
)
