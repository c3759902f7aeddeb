/**
 * CSV → PostgreSQL with the bytes passed through: for random files — fields with delimiters,
 * quotes, line feeds, carriage returns, backslashes, tabs and multi-byte characters, quoted when
 * they must be or at random, LF or CRLF line endings, three delimiters, random batch sizes — the
 * table the pass-through workflow loads (the server parsing the CSV bytes where the source found
 * them plain, the source parsing the rest) holds exactly the values that were written, in order.
 * This is the claim the byte scanner makes: where it hands bytes on, PostgreSQL's CSV reader and
 * the source's parser agree on every field. Runs against the local PostgreSQL.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import fc from "fast-check"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse } from "../dsl/yaml/Yaml.ts"
import { definitions as csvDefinitions } from "../src/connectors/csv/index.ts"
import { definitions as pgDefinitions } from "../src/connectors/postgres/index.ts"
import * as Registry from "../src/Registry.ts"
import * as Runtime from "../src/Runtime.ts"
import * as StateBackend from "../src/StateBackend.ts"
import { query, URL } from "../test/connectors/postgres/support.ts"
import { numRuns, timeoutFor } from "./support/effectProperty.ts"

const registry = Registry.layer([...csvDefinitions, ...pgDefinitions])
const dir = mkdtempSync(join(tmpdir(), "df-prop-pass-"))

const CHARS = ["a", "b", "Z", " ", ",", ";", "\t", "\"", "\n", "\r", "\\", ".", "é", "日", "🙂", "0"]
const field = fc.array(fc.constantFrom(...CHARS), { maxLength: 6 }).map((cs) => cs.join(""))
const record = fc.record({
  values: fc.tuple(field, field, field),
  quote: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
  crlf: fc.boolean()
})

/**
 * One field as CSV: quoted (quotes doubled) when it must be or when `quote`; otherwise as it is —
 * a quote inside an unquoted field is data to the source's parser (PostgreSQL would start a
 * quoted section there: the scanner must leave such records to the parser).
 */
const encode = (value: string, delimiter: string, quote: boolean): string =>
  quote || value.includes(delimiter) || /[\n\r]/.test(value) || value.startsWith("\"")
    ? `"${value.replace(/"/g, "\"\"")}"`
    : value

const runs = numRuns(60)

describe("csv → postgres, bytes passed through", () => {
  it.effect("the table holds exactly the values written, whatever the file holds", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(record, { minLength: 1, maxLength: 40 }),
          fc.constantFrom(",", ";", "\t"),
          fc.integer({ min: 1, max: 20 }),
          fc.boolean(),
          fc.boolean(),
          async (records, delimiter, batchSize, trailingNewline, nLast) => {
            // the index column first, or last (then a record may start with a backslash)
            const order = (n: string, rest: ReadonlyArray<string>) => (nLast ? [...rest, n] : [n, ...rest])
            const lines = records.map((r, i) =>
              order(String(i), r.values.map((v, k) => encode(v, delimiter, r.quote[k]))).join(delimiter) + (r.crlf ? "\r\n" : "\n")
            )
            let text = order("n", ["a", "b", "c"]).join(delimiter) + "\n" + lines.join("")
            if (!trailingNewline) text = text.replace(/\r?\n$/, "")
            const csv = join(dir, "in.csv")
            writeFileSync(csv, text)
            const table = `df_prop_pass_${process.pid}`
            await query(`DROP TABLE IF EXISTS ${table}`)
            await query(`CREATE TABLE ${table} (n int, a text, b text, c text)`)
            try {
              const yaml = [
                "name: prop-pass-through",
                `execution: { batch_size: ${batchSize} }`,
                "sources:",
                `  input: { type: csv, config: { path: "${csv}", delimiter: ${JSON.stringify(delimiter)} } }`,
                "destinations:",
                "  pg:",
                "    type: postgres",
                "    inputs: [input]",
                `    config: { connection_string: "${URL}", table: ${table}, checkpoint_table: ${table}_cp, guarantee: at-least-once }`
              ].join("\n")
              const layer = Layer.mergeAll(registry, Layer.succeed(StateBackend.StateBackend, StateBackend.makeMemory()))
              const summary = await Effect.runPromise(
                // every case starts over on a new table (the sink refuses a state older than its table otherwise)
                Effect.flatMap(parse(yaml, { file: "wf.yaml" }), (graph) => Runtime.run(graph, { fromScratch: true })).pipe(Effect.provide(layer))
              )
              const rows = await query<{ n: number; a: string; b: string; c: string }>(`SELECT n, a, b, c FROM ${table} ORDER BY n`)
              assert.deepStrictEqual(
                rows.map((r) => [r.a, r.b, r.c]),
                records.map((r) => [...r.values])
              )
              assert.strictEqual(summary.nodes.find((n) => n.id === "pg")?.recordsOut, records.length)
            } finally {
              await query(`DROP TABLE IF EXISTS ${table}`)
              await query(`DROP TABLE IF EXISTS ${table}_cp`)
            }
          }
        ),
        { numRuns: runs }
      )
    ), timeoutFor(runs, 1_000, 120_000))
})
