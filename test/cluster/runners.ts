/**
 * What the cluster tests and bench/cluster.ts share, free of vitest so that a plain `node` script
 * can import it: the local PostgreSQL, free ports (test/cli/support.ts's), dropping a prefix's
 * tables, and the orders workflow (csv or ndjson → filter → map → ndjson) they all distribute.
 */
import pg from "pg"

export { freePort } from "../cli/support.ts"

/** The local test server. */
export const URL = "postgres://postgres@127.0.0.1:5432/test"

/** Drops every table of a prefix in the database at `url`. */
export const dropPrefix = async (prefix: string, url: string = URL) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const tables = await client.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1", [`${prefix}\\_%`])
    for (const row of tables.rows as Array<{ tablename: string }>) await client.query(`DROP TABLE IF EXISTS ${pg.escapeIdentifier(row.tablename)} CASCADE`)
  } finally {
    await client.end()
  }
}

/** The orders workflow's variable parts. */
export interface OrdersWorkflow {
  readonly name: string
  /** The input's format: a csv file (columns id: integer, amount: number) or an ndjson file. */
  readonly source: "csv" | "ndjson"
  /** The input file. */
  readonly path: string
  /** The ndjson output file. */
  readonly out: string
  readonly checkpointInterval: string
  /** The batch size, or the default when absent. */
  readonly batchSize?: number
  /** YAML lines added after the map's `gross` field (more fields, or keys of the map node). */
  readonly extra?: string
}

/**
 * The workflow the cluster tests and the bench distribute: the orders whose amount is at least
 * 300 (70 % of `i % 1000`), with `gross = amount * 2`, written as ndjson.
 */
export const ordersWorkflow = (w: OrdersWorkflow) => `name: ${w.name}
execution:
${w.batchSize === undefined ? "" : `  batch_size: ${w.batchSize}\n`}  checkpoint_interval: ${w.checkpointInterval}
sources:
  orders:
    type: ${w.source}
    config:
      path: ${w.path}
${w.source === "csv" ? "      columns:\n        id: integer\n        amount: number\n" : ""}transformations:
  big:
    type: filter
    inputs: [orders]
    config:
      condition: "amount >= 300"
  shaped:
    type: map
    inputs: [big]
    config:
      fields:
        gross: "amount * 2"${w.extra ?? ""}
destinations:
  out:
    type: ndjson
    inputs: [shaped]
    config:
      path: ${w.out}
`
