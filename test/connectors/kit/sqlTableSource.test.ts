/** kit/sqlTableSource: the plan's refusals against a catalog, and the reader's start/next/end/seek over a fake read. */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type { Position } from "../../../src/Batch.ts"
import { ConnectorError } from "../../../src/Errors.ts"
import * as SqlTableSource from "../../../src/connectors/kit/sqlTableSource.ts"

interface Col { readonly name: string; readonly integer: boolean }
const cols = (...names: Array<string>): Array<Col> => names.map((name) => ({ name, integer: name !== "label" }))

const catalog = (tables: Record<string, { columns: Array<Col>; key: Array<string> }>, query: Array<Col> = []): SqlTableSource.Catalog<Col, never> => ({
  table: (t) => Effect.succeed(tables[t] ?? { columns: [], key: [] }),
  query: () => Effect.succeed(query),
  range: (_t, _c, instance, parallelism) => Effect.succeed({ lo: String(instance * 10), hi: instance === parallelism - 1 ? null : String((instance + 1) * 10) }),
  cannotPartition: (c) => (c.integer ? undefined : "an integer partition column")
})

const one = { instance: 0, parallelism: 1 }
const tables = { t: { columns: cols("id", "at", "label"), key: ["id"] }, nokey: { columns: cols("id", "at"), key: [] } }

const refusal = <A>(effect: Effect.Effect<A, ConnectorError>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    assert.isTrue(Exit.isFailure(exit))
    const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
    assert.instanceOf(error, ConnectorError)
    return (error as ConnectorError).reason.message
  })

describe("sqlTableSource", () => {
  it.effect("plans a table: key, cursor, initial value (exclusive, as text), this instance's range", () =>
    Effect.gen(function*() {
      const { plan, state } = yield* SqlTableSource.plan("x", { table: "t", incremental: { column: "at", initial_value: 5 } }, { instance: 1, parallelism: 2 }, catalog(tables))
      assert.deepStrictEqual(plan.key, ["id"])
      assert.strictEqual(plan.cursor?.name, "at")
      assert.strictEqual(plan.partition?.name, "id")
      assert.deepStrictEqual(state, { offset: 0, cursor: "5", key: null, range: { lo: "10", hi: null } })
    }))

  it.effect("refuses what cannot be read, naming the table and the column", () =>
    Effect.gen(function*() {
      const c = catalog(tables, cols("a", "a"))
      assert.include(yield* refusal(SqlTableSource.plan("x", { table: "nope" }, one, c)), "table 'nope' does not exist")
      assert.include(yield* refusal(SqlTableSource.plan("x", { table: "t", incremental: { column: "zz" } }, one, c)), "incremental column 'zz' is not a column of 't'")
      assert.include(yield* refusal(SqlTableSource.plan("x", { table: "nokey", incremental: { column: "at" } }, one, c)), "incremental mode needs a primary key on 'nokey'")
      assert.include(yield* refusal(SqlTableSource.plan("x", { table: "t", partition_column: "zz" }, one, c)), "partition_column 'zz' is not a column of 't'")
      assert.include(yield* refusal(SqlTableSource.plan("x", { table: "nokey" }, { instance: 0, parallelism: 2 }, c)), "parallelism 2 needs a primary key or a partition_column")
      assert.include(yield* refusal(SqlTableSource.plan("x", { table: "t", partition_column: "label" }, { instance: 0, parallelism: 2 }, c)), "parallelism 2 needs an integer partition column")
      assert.include(yield* refusal(SqlTableSource.plan("x", { query: "select" }, one, c)), "the query returns two columns named 'a'")
      assert.include(yield* refusal(SqlTableSource.check("x", { table: "t", incremental: { column: "zz" } }, c)), "incremental column 'zz'")
      yield* SqlTableSource.check("x", { table: "t" }, c)
    }))

  it("checks the config's keys together", () => {
    assert.strictEqual(SqlTableSource.checkReadFields({}), "exactly one of 'table' or 'query' must be set")
    assert.deepStrictEqual(SqlTableSource.checkReadFields({ query: "q", incremental: { column: "a" } }), {
      path: ["incremental"],
      issue: "incremental mode needs 'table' (its primary key breaks cursor ties)"
    })
    assert.isUndefined(SqlTableSource.checkReadFields({ table: "t", partition_column: "id" }))
  })

  it.effect("reads blocks of at most batch_size rows with the position after each, ends, and restarts after a seek", () =>
    Effect.gen(function*() {
      const rows = Array.from({ length: 7 }, (_, i) => i)
      const state: SqlTableSource.ReadState = { offset: 0, cursor: null, key: null, range: undefined }
      let starts = 0
      let stops = 0
      const reader = SqlTableSource.reader<number, ReadonlyArray<number>, string | null>({
        connector: "x",
        context: { node: "n", batchSize: 100, instance: 0, parallelism: 1 },
        batchSize: 3,
        state,
        start: Effect.sync(() => {
          starts++
          let at = state.offset
          return { next: async (n: number) => (at >= rows.length ? undefined : rows.slice(at, (at += n))) }
        }),
        stop: Effect.sync(() => void stops++),
        advance: (block) => void (state.offset += block.length),
        batch: (block, _first, options) => Batch.make(block, options),
        position: () => ({ offset: state.offset }),
        seek: (p: Position) =>
          Effect.sync(() => {
            if (typeof p !== "object" || p === null || !("offset" in p)) return false
            state.offset = p.offset as number
            return true
          }),
        classify: (e) => e as ConnectorError
      })
      const b1 = yield* reader.readBatch(10)
      assert.deepStrictEqual(Batch.toArray(b1!), [0, 1, 2])
      assert.deepStrictEqual(b1!.origin?.position, { offset: 3 })
      assert.deepStrictEqual(Batch.toArray((yield* reader.readBatch(2))!), [3, 4])
      yield* reader.seek({ offset: 1 })
      assert.strictEqual(stops, 1, "the read in flight is dropped")
      assert.deepStrictEqual(Batch.toArray((yield* reader.readBatch(10))!), [1, 2, 3])
      assert.strictEqual(starts, 2)
      while ((yield* reader.readBatch(10)) !== undefined);
      assert.deepStrictEqual(yield* reader.position, { offset: 7 })
      assert.include(yield* refusal(reader.seek("nope")), "not a position of this source")
    }))
})
