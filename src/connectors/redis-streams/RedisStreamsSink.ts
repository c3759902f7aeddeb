/**
 * The `redis-streams` sink: appends each record as an entry (`XADD`), the batch pipelined on one
 * connection, optionally trimming the stream to about `maxlen` entries (`MAXLEN ~`).
 *
 * **Guarantee: at-least-once.** Entry ids are assigned by the server, so entries written after
 * the last completed checkpoint are written again after a restore; de-duplicate downstream by a
 * key of the record (the source's `id_field` carries a source entry id along).
 *
 * @since 0.4.0
 */
import { Effect } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import * as Spec from "../../Spec.ts"
import { classify, send, session } from "./internal/client.ts"
import { encodeRecord } from "./internal/codec.ts"
import { SinkConfig } from "./RedisStreamsConfig.ts"

const CONNECTOR = "redis-streams"

/**
 * The `redis-streams` sink definition.
 *
 * @example
 * ```yaml
 * destinations:
 *   out:
 *     type: redis-streams
 *     inputs: [events]
 *     config:
 *       url: "${REDIS_URL}"
 *       stream: events-clean
 *       maxlen: 1000000
 *       codec: json
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const RedisStreamsSink = Connector.sink<SinkConfig, unknown>({
  type: CONNECTOR,
  description: "Appends records to a Redis stream (XADD, optional MAXLEN ~), at-least-once",
  config: SinkConfig,
  capabilities: () => ({ guarantee: "at-least-once", transactional: false, preferredBatchSize: 1000 }),
  // entries are only added: other writers may append beside it
  resources: (config) => ({ writes: [{ kind: "redis-stream", name: config.stream, key: ["stream"], shared: true }] }),
  check: (config) =>
    Effect.scoped(
      Effect.gen(function*() {
        const client = yield* session(CONNECTOR, config.url)
        const type = yield* Effect.tryPromise({ try: () => send(client, ["TYPE", config.stream]), catch: classify(CONNECTOR, "check") })
        if (type !== "stream" && type !== "none") {
          return yield* classify(CONNECTOR, "check")(new Error(`WRONGTYPE key '${config.stream}' holds a ${String(type)}, not a stream`))
        }
      })
    ),
  open: (config) =>
    Effect.gen(function*() {
      const client = yield* session(CONNECTOR, config.url)
      const head: ReadonlyArray<string> = config.maxlen === undefined
        ? ["XADD", config.stream, "*"]
        : ["XADD", config.stream, "MAXLEN", "~", String(config.maxlen), "*"]
      const codec = config.codec ?? "fields"
      const field = config.field ?? "data"
      const writer: Connector.SinkWriter<unknown> = {
        writeBatch: (batch) =>
          Effect.tryPromise({
            try: async () => {
              const sent: Array<Promise<unknown>> = []
              const { records, start, end } = batch
              // commands issued in one tick go out as one pipeline
              for (let i = start; i < end; i++) {
                const args = [...head]
                encodeRecord(records[i], codec, field, args)
                sent.push(client.sendCommand(args))
              }
              await Promise.all(sent)
              return { written: Batch.size(batch) }
            },
            catch: classify(CONNECTOR, "write")
          }),
        flush: Effect.void
      }
      return writer
    })
})

/**
 * A typed DSL spec of the `redis-streams` sink.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A = unknown>(config: typeof SinkConfig.Encoded): Spec.SinkSpec<A> => Spec.sink<A>(CONNECTOR, config)
