/**
 * The `mongodb` sink: unordered `bulkWrite`s through the official driver (`mongodb` 7).
 *
 * - **Modes**: `insert` (`insertOne`), `upsert` (`updateOne` with `$set` of the record's fields,
 *   `upsert: true`: fields the record leaves out keep their value) and `replace` (`replaceOne`,
 *   `upsert: true`: the document becomes the record). `id_field` gives the document's `_id` (or,
 *   with `id_key: field`, the field the documents are matched on).
 * - **Partial failures**: a bulk write is `ordered: false`, so one bad document does not stop the
 *   others; its write error is read per operation. Transient errors (a `RetryableWriteError`, a
 *   lost connection, a primary stepping down, a write concern not satisfied) send the affected
 *   operations — only those — again with backoff and jitter (`retry`); other write errors (a
 *   duplicate key, a validation failure) fail the run with a `RecordError` naming the document and
 *   the server's code and message (`on_error: fail`, the default), or go to `dead_letter.path`.
 *   Two operations on one document in a batch are written one after the other, in order.
 * - **Guarantee**: `upsert` and `replace` are idempotent: a replay after a restore writes the same
 *   documents again to the same effect — exactly-once, and the plan says so. `insert` is
 *   at-least-once: a replay's documents meet a duplicate key (with `id_field`) or are inserted
 *   again (without).
 * - A batch is written when every operation is acknowledged (with `write_concern`) or
 *   dead-lettered, so a checkpoint completes only then.
 *
 * @since 0.4.0
 */
import { Effect } from "effect"
import * as Connector from "../../Connector.ts"
import type { ConnectorError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import { type Outcome, WRITTEN, writeItems } from "../kit/internal/itemWrites.ts"
import * as Retry from "../kit/Retry.ts"
import * as SinkKit from "../kit/SinkKit.ts"
import { durationMillis } from "../../WorkflowGraph.ts"
import { SinkConfig } from "./MongodbConfig.ts"
import { classify } from "./MongodbError.ts"
import { isOperation, type Operation, outcomesOfError, toOperation } from "./internal/operations.ts"
import { ping, collectionResource, sharedClient } from "./internal/client.ts"
import { type Connect, connectDriver } from "./internal/port.ts"

const DEFAULT_BATCH = 1000

/**
 * Whether the sink is exactly-once for a config (`upsert` and `replace` are idempotent).
 *
 * @category getters
 * @since 0.4.0
 */
export const isIdempotent = (config: SinkConfig): boolean => config.mode === "upsert" || config.mode === "replace"

const writeConcern = (config: SinkConfig) => {
  const wc = config.write_concern
  if (wc === undefined) return {}
  return {
    writeConcern: {
      ...(wc.w !== undefined ? { w: wc.w } : {}),
      ...(wc.j !== undefined ? { journal: wc.j } : {}),
      ...(wc.wtimeout !== undefined ? { wtimeoutMS: durationMillis(wc.wtimeout) } : {})
    }
  }
}

const describe = (id: unknown, index: number): string =>
  id !== undefined ? `document ${typeof id === "string" ? `'${id}'` : JSON.stringify(id) ?? String(id)}` : `record ${index + 1} of the batch`

/**
 * The `mongodb` sink definition over a way to connect (the driver's `MongoClient`, or in tests a
 * MongoClient-shaped fake).
 *
 * @category constructors
 * @since 0.4.0
 */
export const make = (connect: Connect): Connector.SinkDefinition<SinkConfig, unknown> =>
  Connector.sink({
    type: "mongodb",
    description: "Writes documents to a MongoDB collection with unordered bulkWrite (insert, upsert, replace)",
    config: SinkConfig,
    capabilities: (config) => ({
      ...(isIdempotent(config)
        ? { guarantee: "exactly-once", guaranteeNote: `idempotent ${config.mode} keyed by id_field` }
        : { guarantee: "at-least-once" }),
      transactional: false,
      preferredBatchSize: config.batch_size ?? DEFAULT_BATCH
    }),
    resources: (config) => ({
      writes: [
        { ...collectionResource(config), key: ["collection"], shared: true },
        ...DeadLetter.resources(config)
      ]
    }),
    check: (config) => ping(connect, config.url, config.database),
    open: (config, context) =>
      Effect.gen(function*() {
        const client = yield* sharedClient(connect, config.url)
        const collection = client.db(config.database).collection(config.collection)
        const options = { ordered: false as const, ...writeConcern(config) }
        const batchSize = config.batch_size ?? DEFAULT_BATCH
        const policy = Retry.policy(config.retry)
        const where = `${config.database}.${config.collection}`

        /** One bulkWrite of at most `batch_size` operations; the outcome of each. */
        const bulk = (ops: ReadonlyArray<Operation>): Effect.Effect<ReadonlyArray<Outcome>, ConnectorError> =>
          Effect.tryPromise({ try: () => collection.bulkWrite(ops.map((o) => o.operation), options), catch: (e) => e }).pipe(
            Effect.as(ops.map(() => WRITTEN)),
            Effect.catch((e: unknown) => {
              const outcomes = outcomesOfError(ops.length, e)
              return outcomes === undefined ? Effect.fail(classify("bulkWrite")(e)) : Effect.succeed(outcomes)
            })
          )
        const send = (ops: ReadonlyArray<Operation>) =>
          Effect.gen(function*() {
            const out: Array<Outcome> = []
            for (let i = 0; i < ops.length; i += batchSize) out.push(...(yield* bulk(ops.slice(i, i + batchSize))))
            return out
          })

        /** Writes records: all of them, or all but the rejected ones (`RecordsRejected`). */
        const writeRecords = (records: ReadonlyArray<unknown>): Effect.Effect<Connector.WriteStats, ConnectorError | SinkKit.RecordsRejected> =>
          Effect.gen(function*() {
            const ops: Array<Operation> = []
            const rejected: Array<{ readonly index: number; readonly reason: string; readonly fields: { readonly [key: string]: unknown } }> = []
            for (let i = 0; i < records.length; i++) {
              const built = toOperation(records[i], i, config)
              if (isOperation(built)) ops.push(built)
              else rejected.push({ index: i, reason: `mongodb record ${i + 1} of the batch was refused before sending: ${built.reason}`, fields: { collection: where } })
            }
            const refused = yield* writeItems(ops, {
              connector: "mongodb",
              operation: "bulkWrite",
              send,
              policy,
              describe: (o) => describe(o.id, o.index)
            })
            for (const r of refused) {
              rejected.push({
                index: r.item.index,
                reason: `mongodb ${describe(r.item.id, r.item.index)} for ${where} was rejected (${r.status}): ${r.reason}`,
                fields: { collection: where, ...(r.item.id !== undefined ? { id: r.item.id } : {}), status: r.status, reason: r.reason }
              })
            }
            if (rejected.length > 0) {
              return yield* new SinkKit.RecordsRejected({ written: records.length - rejected.length, rejected: rejected.sort((a, b) => a.index - b.index) })
            }
            return { written: records.length }
          })
        return SinkKit.make({
          connector: "mongodb",
          context,
          config,
          writeBatch: writeRecords,
          // writeRecords retried what can be retried, operation by operation: what is left fails the run
          classify: () => "fail"
        })
      })
  })

/**
 * The `mongodb` sink definition (the driver's `MongoClient`).
 *
 * @example
 * ```yaml
 * destinations:
 *   store:
 *     type: mongodb
 *     inputs: [orders]
 *     config:
 *       url: "${MONGODB_URL}"
 *       database: shop
 *       collection: orders
 *       mode: upsert
 *       id_field: order_id
 *       write_concern: { w: majority }
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const MongodbSink: Connector.SinkDefinition<SinkConfig, unknown> = make(connectDriver)

/**
 * A typed DSL spec of the `mongodb` sink accepting records of type `A`.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A = unknown>(config: typeof SinkConfig.Encoded): Spec.SinkSpec<A> => Spec.sink<A>("mongodb", config)

