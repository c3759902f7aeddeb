/**
 * The source of a stage that consumes the cluster's keyed exchange: the rows of one edge and of
 * the part's key groups, producer by producer in `seq` order. Its position is the last `seq` read
 * of each producer (with each producer's event-time clock, for windowed operators: the batches
 * carry the smallest as their watermark); a completed checkpoint deletes the rows it covers. It
 * ends when every producer is done and it has read all their rows.
 */
import { Effect, Schema } from "effect"
import pg from "pg"
import * as Batch from "../../Batch.ts"
import type { SourceReader } from "../../Connector.ts"
import { ConnectorError, TransientError } from "../../Errors.ts"
import type { Entry } from "../../Registry.ts"
import { decodeRecord } from "./exchangeCodec.ts"

/** The type of the exchange's source (registered only in the registry of a part that reads it). */
export const EXCHANGE_SOURCE = "__dataflare_exchange"

const NoConfig = Schema.Struct({})

const failure = (operation: string, e: unknown) =>
  new ConnectorError({
    connector: EXCHANGE_SOURCE,
    operation,
    reason: new TransientError({ message: `the cluster's exchange: ${e instanceof Error ? e.message : String(e)}` })
  })

/** What a consuming stage's source needs to know. */
export interface ConsumerOptions {
  readonly url: string
  /** The exchange's table, quoted. */
  readonly table: string
  readonly workflow: string
  /** The edge read (1: the rows into the first keyed operator). */
  readonly edge: number
  /** How many producers (stage-1 parts) write the exchange. */
  readonly producers: number
  /** The key groups read, `[first, last]`. */
  readonly groups: readonly [number, number]
  /** The producers' statuses, for the end: `done` for all, or the first that failed. */
  readonly producersDone: Effect.Effect<{ readonly done: boolean; readonly failed?: string | undefined }, unknown>
}

/** Rows fetched per query. */
const FETCH = 5000
/** How long a consumer waits when no producer has a row for it and some still run. */
const IDLE_MS = 200

const openConsumer = (options: ConsumerOptions) =>
  Effect.gen(function*() {
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => new pg.Pool({ connectionString: options.url, max: 1 })),
      (p) => Effect.promise(() => p.end().catch(() => undefined))
    )
    pool.on("error", () => undefined)
    const table = options.table
    const seqs: Array<number> = Array.from({ length: options.producers }, () => 0)
    // each producer's event-time clock, from the last of its rows read (windowed operators)
    const clocks: Array<number> = Array.from({ length: options.producers }, () => Number.NEGATIVE_INFINITY)
    /** The watermark every producer has passed: the smallest of their clocks. */
    const watermark = (): number | undefined => {
      const w = Math.min(...clocks)
      return Number.isFinite(w) ? w : undefined
    }
    let next = 0
    let producersDone = false
    const fetch = (producer: number, max: number) =>
      Effect.tryPromise({
        try: () =>
          pool.query(
            `SELECT seq, payload, wm FROM ${table} WHERE workflow = $1 AND edge = $7 AND producer = $2 AND seq > $3 AND kg BETWEEN $4 AND $5 ORDER BY seq LIMIT $6`,
            [options.workflow, producer, seqs[producer], options.groups[0], options.groups[1], Math.min(max, FETCH), options.edge]
          ),
        catch: (e) => failure("read", e)
      })
    const reader: SourceReader<unknown> = {
      readBatch: (max) =>
        Effect.gen(function*() {
          for (let k = 0; k < options.producers; k++) {
            const producer = (next + k) % options.producers
            const result = yield* fetch(producer, max)
            if (result.rows.length === 0) continue
            next = (producer + 1) % options.producers
            const rows = result.rows as Array<{ seq: string; payload: string; wm: number | null }>
            seqs[producer] = Number(rows[rows.length - 1]!.seq)
            // the batch carries the watermark of the rows read before it: every producer's clock
            // then, which none of this batch's records can be behind by more than its own producer was
            const before = watermark()
            const last = rows[rows.length - 1]!.wm
            if (last !== null && last > clocks[producer]!) clocks[producer] = last
            return Batch.make(rows.map((r) => decodeRecord(r.payload)), before === undefined ? undefined : { watermark: before })
          }
          // nothing for this part: every producer had already ended before this sweep, so no row can come
          if (producersDone) return undefined
          const ended = yield* Effect.mapError(options.producersDone, (e) => failure("end", e))
          if (ended.failed !== undefined) return yield* failure("end", ended.failed)
          if (ended.done) producersDone = true
          else yield* Effect.sleep(IDLE_MS)
          return Batch.empty()
        }),
      position: Effect.sync(() => ({ seqs: [...seqs], clocks: clocks.map((c) => (Number.isFinite(c) ? c : null)) })),
      seek: (position) =>
        Effect.gen(function*() {
          const stored = (position as { readonly seqs?: unknown }).seqs
          if (!Array.isArray(stored) || stored.length !== options.producers) {
            return yield* failure("seek", `the checkpoint's position ${JSON.stringify(position)} is not one of ${options.producers} producers`)
          }
          for (let i = 0; i < stored.length; i++) seqs[i] = Number(stored[i])
          const storedClocks = (position as { readonly clocks?: unknown }).clocks
          for (let i = 0; i < clocks.length; i++) {
            const c = Array.isArray(storedClocks) ? storedClocks[i] : null
            clocks[i] = typeof c === "number" ? c : Number.NEGATIVE_INFINITY
          }
        }),
      // a completed checkpoint covers the rows up to its seqs: they are not read again
      commit: (position) =>
        Effect.asVoid(Effect.tryPromise({
          try: () =>
            pool.query(
              `DELETE FROM ${table} e USING unnest($2::int[], $3::bigint[]) AS c(producer, seq)
               WHERE e.workflow = $1 AND e.edge = $6 AND e.producer = c.producer AND e.seq <= c.seq AND e.kg BETWEEN $4 AND $5`,
              [
                options.workflow,
                seqs.map((_, i) => i),
                (position as { readonly seqs: ReadonlyArray<number> }).seqs,
                options.groups[0],
                options.groups[1],
                options.edge
              ]
            ),
          catch: (e) => failure("commit", e)
        }))
    }
    return reader
  })

/** A consuming stage's source: the exchange's rows of one edge and of the part's key groups. */
export const sourceEntry = (options: ConsumerOptions): Entry => ({
  kind: "source",
  type: EXCHANGE_SOURCE,
  description: "reads the cluster's keyed exchange",
  apiVersion: 1,
  configSchema: NoConfig,
  prepare: () => ({
    ok: true,
    value: {
      _tag: "PreparedSource",
      type: EXCHANGE_SOURCE,
      capabilities: { seekable: true, unbounded: false, maxParallelism: 1 },
      check: Effect.void,
      open: () => openConsumer(options)
    }
  })
})
