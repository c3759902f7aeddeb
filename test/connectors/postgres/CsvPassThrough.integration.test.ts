/**
 * CSV → PostgreSQL with the file's bytes passed through: a `csv` source whose only consumer is a
 * `postgres` sink hands it encoded batches, which the sink COPYs as they are (FORMAT csv). These
 * tests run the same file through the pass-through workflow and through one that parses records
 * (a `filter` in between), against the local server, and require the same table, the same
 * errors and the same dead letters.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse } from "../../../dsl/yaml/Yaml.ts"
import { definitions as csvDefinitions } from "../../../src/connectors/csv/index.ts"
import { definitions as pgDefinitions } from "../../../src/connectors/postgres/index.ts"
import { FilterDefinition } from "../../../src/processors/filter.ts"
import type { Definition } from "../../../src/Registry.ts"
import * as Registry from "../../../src/Registry.ts"
import * as Runtime from "../../../src/Runtime.ts"
import * as StateBackend from "../../../src/StateBackend.ts"
import { sql, URL, withSchema, withTable } from "./support.ts"

const registry = Registry.layer([...csvDefinitions, ...pgDefinitions, FilterDefinition as Definition])

interface Options {
  readonly table: string
  readonly csv: string
  /** Parse records (a filter between source and sink) instead of passing the bytes through. */
  readonly parsed: boolean
  readonly guarantee?: "exactly-once" | "at-least-once"
  readonly twoPhase?: "staged" | "prepared"
  readonly deadLetter?: string
  readonly batchSize?: number
  readonly columns?: string
  readonly sinkParallelism?: number
}

const workflow = (o: Options): string =>
  [
    "name: csv-pass-through",
    `execution: { batch_size: ${o.batchSize ?? 7} }`,
    "sources:",
    "  input:",
    "    type: csv",
    `    config: { path: "${o.csv}"${o.columns !== undefined ? `, columns: ${o.columns}` : ""} }`,
    ...(o.parsed ? ["transformations:", "  all:", "    type: filter", "    inputs: [input]", "    config: { condition: \"true\" }"] : []),
    "destinations:",
    "  pg:",
    "    type: postgres",
    `    inputs: [${o.parsed ? "all" : "input"}]`,
    ...(o.sinkParallelism !== undefined ? [`    parallelism: ${o.sinkParallelism}`] : []),
    // a checkpoint table per target: every run here is workflow 'csv-pass-through', node 'pg'
    `    config: { connection_string: "${URL}", table: ${o.table}, checkpoint_table: ${o.table}_cp, guarantee: ${o.guarantee ?? "exactly-once"}${o.twoPhase !== undefined ? `, two_phase: ${o.twoPhase}` : ""}${
      o.deadLetter !== undefined ? `, on_error: dead_letter, dead_letter: { path: "${o.deadLetter}" }` : ""
    } }`
  ].join("\n")

const layer = () => Layer.mergeAll(registry, Layer.succeed(StateBackend.StateBackend, StateBackend.makeMemory()))

const graphOf = (o: Options) => parse(workflow(o), { file: "wf.yaml" })

const run = (o: Options) =>
  Effect.gen(function*() {
    const graph = yield* graphOf(o)
    // each run starts over on a truncated table (the sink refuses a state older than its table otherwise)
    return yield* Runtime.run(graph, { fromScratch: true }).pipe(Effect.provide(layer()))
  })

/** The text of `dataflare plan` for the workflow. */
const planText = (o: Options) =>
  Effect.gen(function*() {
    const graph = yield* graphOf(o)
    const prepared = yield* Runtime.prepare(graph).pipe(Effect.provide(layer()))
    return Runtime.plan(prepared).tasks.find((t) => t._tag === "Source")
  })

const dir = mkdtempSync(join(tmpdir(), "df-pass-"))
const file = (name: string, text: string): string => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

const HEADER = "id,name,note,amount\n"
/** Records the pass-through must carry exactly as the parser reads them, and stretches it must leave to the parser. */
const TRICKY = HEADER + [
  `1,plain,,1.5`,
  `2,"quoted, with comma","say ""hi""",2`,
  `3,"multi`,
  `line","",3.25`,
  `4,é日本🙂,"",4`,
  ``, // an empty line: skipped by the parser (PostgreSQL would read a row)
  `5,crlf,row,5\r`,
  `6,mid"quote,x,6`,
  `\\.,backslash,y,7`,
  `8,"tab\there","back\\slash",8`,
  `9,  spaced  ,"  ",9`,
  `10,"",,10`
].join("\n") + "\n"

const rows = (table: string) => sql(`SELECT id, name, note, amount::text FROM ${table} ORDER BY id, name`)

describe("csv → postgres, CSV bytes passed through", () => {
  it.effect("the plan passes the bytes only to a sink that is the only consumer, for untyped columns", () =>
    Effect.gen(function*() {
      const csv = file("plan.csv", HEADER)
      const direct = yield* planText({ table: "t", csv, parsed: false })
      assert.strictEqual(direct?._tag === "Source" ? direct.encoding : "?", "text/csv")
      const filtered = yield* planText({ table: "t", csv, parsed: true })
      assert.strictEqual(filtered?._tag === "Source" ? filtered.encoding : "?", undefined)
      const typed = yield* planText({ table: "t", csv, parsed: false, columns: "{ id: integer }" })
      assert.strictEqual(typed?._tag === "Source" ? typed.encoding : "?", undefined)
    }))

  for (const [guarantee, twoPhase] of [["exactly-once", "staged"], ["exactly-once", "prepared"], ["at-least-once", undefined]] as const) {
    it.effect(`the table equals the parsed run's, quotes, new lines, empty fields and odd stretches included (${guarantee}${twoPhase !== undefined ? `, ${twoPhase}` : ""})`, () =>
      Effect.gen(function*() {
        const schema = yield* withSchema("df_pass")
        const csv = file(`tricky-${guarantee}-${twoPhase}.csv`, TRICKY)
        for (const t of ["passed", "parsed"]) {
          yield* sql(`CREATE TABLE ${schema}.${t} (id text, name text, note text, amount numeric)`)
        }
        for (const batchSize of [1, 3, 1000]) {
          yield* sql(`TRUNCATE ${schema}.passed, ${schema}.parsed`)
          const tp = twoPhase !== undefined ? { twoPhase } : {}
          const passed = yield* run({ table: `${schema}.passed`, csv, parsed: false, guarantee, batchSize, ...tp })
          yield* run({ table: `${schema}.parsed`, csv, parsed: true, guarantee, batchSize, ...tp })
          const expected = yield* rows(`${schema}.parsed`)
          assert.strictEqual(expected.length, 10)
          assert.deepStrictEqual(yield* rows(`${schema}.passed`), expected, `batch size ${batchSize}`)
          assert.strictEqual(passed.nodes.find((n) => n.id === "pg")?.recordsOut, 10)
        }
        // spot checks of what the parser reads (and the pass-through must match)
        const byId = new Map((yield* rows(`${schema}.passed`)).map((r) => [r.id, r]))
        assert.deepStrictEqual(byId.get("1"), { id: "1", name: "plain", note: "", amount: "1.5" })
        assert.deepStrictEqual(byId.get("3"), { id: "3", name: "multi\nline", note: "", amount: "3.25" })
        assert.deepStrictEqual(byId.get("2"), { id: "2", name: "quoted, with comma", note: "say \"hi\"", amount: "2" })
        assert.strictEqual(byId.get("6")?.name, "mid\"quote")
        assert.strictEqual(byId.get("\\.")?.name, "backslash")
        assert.strictEqual(byId.get("9")?.name, "  spaced  ")
      }).pipe(Effect.scoped))
  }

  for (const twoPhase of ["staged", "prepared"] as const) {
    it.effect(`examples/csv-to-postgres.yaml loads the file, the rejected row goes to the dead letters (two_phase: ${twoPhase})`, () =>
      Effect.gen(function*() {
        const schema = yield* withSchema("df_pass_example")
        const table = `${schema}.orders`
        yield* sql(`CREATE TABLE ${table} (id int, customer text, status text, amount numeric, country text)`)
        const rowsIn = Array.from({ length: 3000 }, (_, i) => `${i},"Customer ${i}, Ltd",${i % 4 === 0 ? "inactive" : "active"},${i === 1234 ? "n/a" : (i * 7) % 250},DE`)
        const csv = file(`example-${twoPhase}.csv`, "id,customer,status,amount,country\n" + rowsIn.join("\n") + "\n")
        const deadLetter = join(dir, `example-${twoPhase}.ndjson`)
        const path = join(import.meta.dirname, "../../../examples/csv-to-postgres.yaml")
        const env = {
          ORDERS_CSV: csv,
          PG_CONNECTION: URL,
          TARGET_TABLE: table,
          TWO_PHASE: twoPhase,
          DEAD_LETTER: deadLetter,
          CHECKPOINT_TABLE: `${schema}.checkpoints`
        }
        const graph = yield* parse(readFileSync(path, "utf8"), { file: path, env })
        const prepared = yield* Runtime.prepare(graph).pipe(Effect.provide(layer()))
        const source = Runtime.plan(prepared).tasks.find((t) => t._tag === "Source")
        assert.strictEqual(source?._tag === "Source" ? source.encoding : undefined, "text/csv")
        yield* Runtime.run(graph).pipe(Effect.provide(layer()))
        const [stats] = yield* sql<{ n: string; sum: string }>(`SELECT count(*) AS n, sum(id)::text AS sum FROM ${table}`)
        assert.deepStrictEqual(stats, { n: "2999", sum: String((2999 * 3000) / 2 - 1234) })
        const customer = yield* sql<{ customer: string }>(`SELECT customer FROM ${table} WHERE id = 7`)
        assert.deepStrictEqual(customer, [{ customer: "Customer 7, Ltd" }])
        const letters = readFileSync(deadLetter, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { record: { id: string }; sqlstate: string })
        assert.deepStrictEqual(letters.map((l) => [l.record.id, l.sqlstate]), [["1234", "22P02"]])
      }).pipe(Effect.scoped))
  }

  it.effect("a sink of parallelism 2 takes whole encoded batches, each row once (exactly-once staged, per instance)", () =>
    Effect.gen(function*() {
      const { table } = yield* withTable("df_pass_p2", `(id int, name text, note text, amount numeric)`)
      const lines = Array.from({ length: 20_000 }, (_, i) => `${i},"n ${i}",x,${i % 100}`)
      const csv = file("p2.csv", HEADER + lines.join("\n") + "\n")
      const direct = yield* planText({ table, csv, parsed: false, sinkParallelism: 2 })
      assert.strictEqual(direct?._tag === "Source" ? direct.encoding : "?", "text/csv")
      const summary = yield* run({ table, csv, parsed: false, batchSize: 500, sinkParallelism: 2 })
      const [stats] = yield* sql<{ n: string; d: string }>(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${table}`)
      assert.deepStrictEqual(stats, { n: "20000", d: "20000" })
      assert.strictEqual(summary.nodes.find((n) => n.id === "pg")?.recordsOut, 20_000)
    }).pipe(Effect.scoped))

  it.effect("a value the server rejects fails the run with the same record error as the parsed run", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_pass_bad")
      const lines = Array.from({ length: 50 }, (_, i) => `${i},n${i},x,${i === 37 ? "abc" : i}`)
      const csv = file("bad-value.csv", HEADER + lines.join("\n") + "\n")
      const messages: Array<string> = []
      for (const parsed of [false, true]) {
        const table = `${schema}.t_${parsed ? "parsed" : "passed"}`
        yield* sql(`CREATE TABLE ${table} (id int, name text, note text, amount numeric)`)
        const exit = yield* Effect.exit(run({ table, csv, parsed, guarantee: "at-least-once", batchSize: 10 }))
        assert.isTrue(Exit.isFailure(exit))
        const message = Exit.isFailure(exit) ? String(exit.cause) : ""
        assert.include(message, "invalid input syntax for type numeric: \"abc\"")
        assert.include(message, "\"id\":\"37\"")
        messages.push(message.replace(/t_(parsed|passed)/g, "t"))
      }
      assert.strictEqual(messages[0], messages[1])
    }).pipe(Effect.scoped))

  it.effect("with dead letters, every good row is loaded and the bad one is set aside, as in the parsed run", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_pass_dl")
      const lines = Array.from({ length: 50 }, (_, i) => `${i},n${i},x,${i === 12 || i === 40 ? "abc" : i}`)
      const csv = file("dead-letter.csv", HEADER + lines.join("\n") + "\n")
      const letters: Array<ReadonlyArray<unknown>> = []
      for (const parsed of [false, true]) {
        const table = `${schema}.t_${parsed ? "parsed" : "passed"}`
        const deadLetter = join(dir, `dead-${parsed}.ndjson`)
        yield* sql(`CREATE TABLE ${table} (id int, name text, note text, amount numeric)`)
        yield* run({ table, csv, parsed, deadLetter, batchSize: 10 })
        const ids = yield* sql<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`)
        assert.deepStrictEqual(ids.map((r) => r.id), Array.from({ length: 50 }, (_, i) => i).filter((i) => i !== 12 && i !== 40))
        letters.push(
          readFileSync(deadLetter, "utf8").trim().split("\n").map((l) => {
            const { record, sqlstate } = JSON.parse(l) as { record: unknown; sqlstate: unknown }
            return { record, sqlstate }
          })
        )
      }
      assert.deepStrictEqual(letters[0], letters[1])
      assert.strictEqual(letters[0].length, 2)
    }).pipe(Effect.scoped))

  it.effect("a record with the wrong number of fields fails with the source's error naming file and line", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_pass_fields")
      const lines = Array.from({ length: 30 }, (_, i) => (i === 21 ? `${i},n,x,1,extra` : `${i},n${i},x,${i}`))
      const csv = file("fields.csv", HEADER + lines.join("\n") + "\n")
      yield* sql(`CREATE TABLE ${schema}.t (id int, name text, note text, amount numeric)`)
      const exit = yield* Effect.exit(run({ table: `${schema}.t`, csv, parsed: false, guarantee: "at-least-once", batchSize: 10 }))
      assert.isTrue(Exit.isFailure(exit))
      const message = Exit.isFailure(exit) ? String(exit.cause) : ""
      // header is line 1: record 21 is on line 23; its fifth field is the extra one
      assert.include(message, `${csv}:23:5`)
      assert.include(message, "expected 4 fields, found 5")
      const loaded = yield* sql<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.t`)
      assert.isTrue(Number(loaded[0].n) <= 20, "nothing after the bad record's batch")
    }).pipe(Effect.scoped))
})
