import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type { ChangeRecord } from "../../../src/connectors/postgres/PostgresCdc.ts"
import { lsnValue } from "../../../src/connectors/postgres/internal/replication.ts"
import type * as Connector from "../../../src/Connector.ts"
import { confirmedReaching, names, openCdc } from "./cdcSupport.ts"
import { sql, withSchema } from "./support.ts"

/** Reads non-empty batches until `count` changes were read (or fails after 30 s of empty reads). */
const readChanges = (reader: Connector.SourceReader<ChangeRecord>, count: number, max: number) =>
  Effect.gen(function*() {
    const batches: Array<ReadonlyArray<ChangeRecord>> = []
    let n = 0
    for (let empty = 0; n < count && empty < 600;) {
      const batch = yield* reader.readBatch(max)
      if (batch === undefined) break
      if (Batch.isEmpty(batch)) {
        empty++
        continue
      }
      const records = Batch.toArray(batch)
      batches.push(records)
      n += records.length
    }
    return batches
  })

describe("PostgresCdc: a transaction larger than a batch and than the buffer", () => {
  it.live("is read in parts of batch_size; a restore inside it neither duplicates nor loses a change", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_bigtx")
      const { publication, slot } = yield* names
      yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY, v text)`)
      yield* sql(`CREATE PUBLICATION ${publication} FOR TABLE ${schema}.t`)
      // a buffer of about 40 KB: the 5000-change transaction (~ 500 KB decoded) cannot be held whole
      const config = { publication, slot, tables: [`${schema}.t`], batch_size: 100, max_buffer_bytes: 40_000 }
      const scope1 = yield* Scope.make()
      const reader1 = yield* Scope.provide(openCdc(config), scope1)
      yield* reader1.readBatch(100)
      yield* sql(`INSERT INTO ${schema}.t VALUES (0, 'small')`)
      yield* sql(`INSERT INTO ${schema}.t SELECT g, repeat('x', 20) FROM generate_series(1, 5000) g`)
      yield* sql(`INSERT INTO ${schema}.t VALUES (5001, 'after')`)

      // the small transaction, then 3 parts of the big one
      const first = yield* readChanges(reader1, 301, 100)
      assert.deepStrictEqual(first.map((b) => b.length), [1, 100, 100, 100])
      const small = first[0][0]
      const bigTx = first[1][0].lsn
      const inside = yield* reader1.position
      const at = inside as { lsn: string; tables?: ReadonlyArray<string>; tx?: string; skip?: number }
      assert.strictEqual(at.tx, bigTx)
      assert.deepStrictEqual(at.tables, [`${schema}.t`])
      assert.strictEqual(at.skip, 300)
      // a checkpoint inside the transaction confirms the slot only up to the end of the one before
      yield* reader1.commit(inside)
      const slotAt = yield* confirmedReaching(slot, at.lsn)
      assert.isTrue(slotAt >= lsnValue(at.lsn) && slotAt > lsnValue(small.lsn), `slot confirmed at ${slotAt}`)
      assert.isTrue(slotAt <= lsnValue(bigTx), "the slot is not confirmed past the transaction being read")

      // read more than the checkpoint covers, then crash
      const uncommitted = yield* readChanges(reader1, 500, 100)
      assert.isTrue(uncommitted.every((b) => b.length <= 100))
      yield* Scope.close(scope1, Exit.fail("crash"))
      yield* Effect.sleep(200)

      // restored with other tables, which change of the transaction was read is not known: refused
      yield* sql(`CREATE TABLE ${schema}.other (id int PRIMARY KEY)`)
      const widened = yield* openCdc({ ...config, tables: [`${schema}.t`, `${schema}.other`], create_publication: true })
      const refused = yield* Effect.flip(widened.seek(inside))
      assert.include(refused.message, `inside transaction ${bigTx} after 300`)
      yield* sql(`ALTER PUBLICATION ${publication} SET TABLE ${schema}.t`)

      // restored inside the transaction: the 300 changes read before the checkpoint are not read again
      const scope2 = yield* Scope.make()
      const reader2 = yield* Scope.provide(openCdc(config), scope2)
      yield* reader2.seek(inside)
      const rest = (yield* readChanges(reader2, 4701, 100)).flat()
      const ids = rest.map((r) => r.after!.id as number)
      assert.deepStrictEqual(ids, Array.from({ length: 4701 }, (_, i) => 301 + i))
      assert.isTrue(rest.slice(0, 4700).every((r) => r.lsn === bigTx))
      // whole transactions read: the position is a transaction end again, and the slot follows it
      const end = (yield* reader2.position) as { lsn: string; tx?: string }
      assert.isUndefined(end.tx)
      yield* reader2.commit(end)
      assert.isTrue((yield* confirmedReaching(slot, end.lsn)) >= lsnValue(end.lsn))
      yield* Scope.close(scope2, Exit.void)
    }).pipe(Effect.scoped), 120_000)

  it.live("keeps transactions whole in a batch while they fit", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_wholetx")
      const { publication, slot } = yield* names
      yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY)`)
      yield* sql(`CREATE PUBLICATION ${publication} FOR TABLE ${schema}.t`)
      const reader = yield* openCdc({ publication, slot, tables: [`${schema}.t`], batch_size: 10 })
      yield* reader.readBatch(10)
      for (let tx = 0; tx < 5; tx++) yield* sql(`INSERT INTO ${schema}.t SELECT g FROM generate_series(${tx * 4 + 1}, ${tx * 4 + 4}) g`)
      const batches = yield* readChanges(reader, 20, 10)
      // 4-change transactions in batches of at most 10: never a part of one
      assert.isTrue(batches.every((b) => b.length % 4 === 0 && b.length <= 10))
      assert.deepStrictEqual(batches.flat().map((r) => r.after!.id), Array.from({ length: 20 }, (_, i) => i + 1))
      assert.isUndefined(((yield* reader.position) as { tx?: string }).tx)
    }).pipe(Effect.scoped), 60_000)
})
