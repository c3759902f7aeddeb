/**
 * Helpers for the CDC tests: unique publication and slot names (dropped with the scope), opening
 * the source, reading until a condition holds.
 */
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type * as Connector from "../../../src/Connector.ts"
import { type ChangeRecord, dropSlot, PostgresCdc } from "../../../src/connectors/postgres/PostgresCdc.ts"
import { context, decode, sql, URL } from "./support.ts"

export const unique = () => `${process.pid}_${Math.floor(Math.random() * 1e9)}`

/** A publication and slot name, dropped with the scope. */
export const names = Effect.acquireRelease(
  Effect.sync(() => {
    const id = unique()
    return { publication: `df_pub_${id}`, slot: `df_slot_${id}` }
  }),
  ({ publication, slot }) =>
    Effect.gen(function*() {
      // The stream's connection may still be closing: retry until the slot is inactive.
      for (let i = 0; i < 50; i++) {
        const active = yield* sql(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [slot])
        if (active.length === 0 || active[0].active === false) break
        yield* Effect.sleep(100)
      }
      yield* dropSlot(URL, slot).pipe(Effect.ignore)
      yield* sql(`DROP PUBLICATION IF EXISTS ${publication}`)
    })
)

export const openCdc = (raw: object) => PostgresCdc.open(decode(PostgresCdc.config, { connection_string: URL, ...raw }), context("cdc", 500))

/** Reads until `done` holds for a record (or fails after `seconds`). */
export const readUntil = (
  reader: Connector.SourceReader<ChangeRecord>,
  done: (r: ChangeRecord) => boolean,
  onBatch: (b: Batch.Batch<ChangeRecord>) => Effect.Effect<void, unknown> = () => Effect.void,
  max = 500,
  seconds = 20
) =>
  Effect.gen(function*() {
    const seen: Array<ChangeRecord> = []
    for (let i = 0; i < seconds * 20; i++) {
      const batch = yield* reader.readBatch(max)
      if (batch === undefined) break
      yield* onBatch(batch)
      for (const r of Batch.toArray(batch)) seen.push(r)
      if (seen.some(done)) return seen
    }
    return yield* Effect.die(new Error(`condition not reached; ${seen.length} records read`))
  })

