/**
 * A sink's own dead letters in the DSL (docs/dsl.md, "A sink's own dead letters"): a PostgreSQL
 * sink whose config says `on_error: "dead_letter", dead_letter: { to: "bad" }` sends the rows the
 * server refuses (a CHECK constraint) to the dead-letter sink `bad` that a step declared with
 * `.deadLetter("bad", sink)`, as envelopes with the table and SQLSTATE in `detail`; the other rows
 * are in the table once, and the step's own failures reach the same sink.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import * as Postgres from "../../src/connectors/postgres/index.ts"
import { sql, URL, withSchema } from "../connectors/postgres/support.ts"

type Order = { readonly id: number; readonly amount: number | string }

describe("a sink's config.dead_letter: { to } in a Workflow", () => {
  it.live("rows PostgreSQL refuses and a filter's failures reach the one dead-letter sink", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("dslfollow_sink")
      yield* sql(`CREATE TABLE ${schema}.orders (id int PRIMARY KEY, amount int NOT NULL CHECK (amount >= 0))`)
      // every 9th amount is negative (refused by the table), every 10th is "n/a" (the filter fails)
      const input: ReadonlyArray<Order> = Array.from({ length: 60 }, (_, i) => ({
        id: i + 1,
        amount: (i + 1) % 10 === 0 ? "n/a" : (i + 1) % 9 === 0 ? -(i + 1) : i + 1
      }))
      const bad = Memory.list<Pipeline.DeadLetterEnvelope>(`dslfollow-sink-bad-${process.pid}`)
      const audit = Memory.list<Order>(`dslfollow-sink-audit-${process.pid}`)
      bad.clear()
      audit.clear()
      const w = Workflow.make("sink-letters", { execution: { batch_size: 16 } })
        .source("orders", Memory.source<Order>({ records: input }))
        .filter("big", ["orders"], "amount > 30")
        .deadLetter("bad", bad.sink())
        .sink("audit", ["big"], audit.sink())
        .map("numeric", ["orders"], (o) => ({ id: o.id, amount: typeof o.amount === "number" ? o.amount : 0 }))
        .sink(
          "db",
          ["numeric"],
          Postgres.sink({ connection_string: URL, table: `${schema}.orders`, on_error: "dead_letter", dead_letter: { to: "bad" } })
        )
        .build()
      yield* Workflow.run(w).pipe(Effect.provide(Builtins.layer))

      const stored = yield* sql<{ id: number }>(`SELECT id FROM ${schema}.orders ORDER BY id`)
      const refused = (o: Order) => typeof o.amount === "number" && o.amount < 0
      assert.deepStrictEqual(stored.map((r) => r.id), input.filter((o) => !refused(o)).map((o) => o.id))

      const fromDb = bad.records().filter((e) => e.node === "db")
      assert.deepStrictEqual(fromDb.map((e) => (e.record as Order).id).sort((a, b) => a - b), input.filter(refused).map((o) => o.id))
      for (const e of fromDb) {
        assert.include(e.error, "check constraint")
        assert.strictEqual(e.source, "orders")
        const detail = e.detail as { readonly table?: unknown; readonly sqlstate?: unknown }
        assert.strictEqual(detail.sqlstate, "23514")
      }
      const fromFilter = bad.records().filter((e) => e.node === "big")
      assert.deepStrictEqual(fromFilter.map((e) => e.record), input.filter((o) => typeof o.amount === "string"))
      assert.deepStrictEqual(audit.records().map((o) => o.id), input.filter((o) => typeof o.amount === "number" && o.amount > 30).map((o) => o.id))
    }).pipe(Effect.scoped))
})
