/**
 * The `redis-streams` sink: appends each record as an entry (`XADD`), the batch pipelined on one
 * connection, optionally trimming the stream to about `maxlen` entries (`MAXLEN ~`).
 *
 * **Guarantee: at-least-once.** Entry ids are assigned by the server, so entries written after
 * the last completed checkpoint are written again after a restore (and a batch retried after a
 * lost connection may repeat what reached the server before); de-duplicate downstream by a key of
 * the record (the source's `id_field` carries a source entry id along).
 *
 * **Refused records.** A record the codec cannot encode, or with a field value longer than the
 * server's `proto-max-bulk-len` (or an entry larger than its `client-query-buffer-limit`; both
 * read with `CONFIG GET` when the sink opens — the server would drop the connection), is not sent:
 * it fails the run naming it (`on_error: fail`), or goes to the dead letters with the reason
 * (`on_error: dead_letter`) while the rest of the batch is written.
 *
 * @since 0.4.0
 */
import { Effect } from "effect"
import * as Connector from "../../Connector.ts"
import * as Spec from "../../Spec.ts"
import type { ConnectorError } from "../../Errors.ts"
import * as Retry from "../kit/Retry.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as PublishLetters from "../kit/publishLetters.ts"
import { checkStream, classify, shared } from "./internal/client.ts"
import { encodeRecord } from "./internal/codec.ts"
import { oversize, serverLimits } from "./internal/limits.ts"
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
  resources: (config) => ({
    writes: [{ kind: "redis-stream", name: config.stream, key: ["stream"], shared: true }, ...DeadLetter.resources(config)]
  }),
  check: (config) => checkStream(CONNECTOR, config.url, config.stream),
  open: (config, context) =>
    Effect.gen(function*() {
      const name = `dataflare:${context.workflow ?? ""}:${context.node}:${context.instance}`
      // shared with the other nodes on this URL (internal/client.ts)
      const connection = yield* shared(CONNECTOR, config.url, name)
      const head: ReadonlyArray<string> = config.maxlen === undefined
        ? ["XADD", config.stream, "*"]
        : ["XADD", config.stream, "MAXLEN", "~", String(config.maxlen), "*"]
      const codec = config.codec ?? "fields"
      const field = config.field ?? "data"
      const policy = Retry.policy(config.retry)
      const limits = yield* serverLimits(connection.current())
      const refuse = PublishLetters.refuser({ connector: CONNECTOR, context, config, deadLetterContext: { stream: config.stream } })
      // a lost connection is not reconnected by the client: the next attempt gets a new one
      const reconnect = (error: ConnectorError) =>
        error.reason._tag !== "ConnectionError" ? Effect.void : Effect.promise(() => connection.reconnect())
      const writer: Connector.SinkWriter<unknown> = {
        writeBatch: (batch) =>
          Effect.suspend(() => {
            const { records, start, end } = batch
            const commands: Array<Array<string>> = []
            const refused: Array<PublishLetters.Refusal> = []
            for (let i = start; i < end; i++) {
              const args = [...head]
              const invalid = encodeRecord(records[i], codec, field, args)
              const over = invalid === undefined ? oversize(records[i], args, limits) : undefined
              if (invalid !== undefined) refused.push(PublishLetters.unencodable(records[i], codec, invalid))
              else if (over !== undefined) refused.push(over)
              else commands.push(args)
            }
            // commands issued in one tick go out as one pipeline
            const write = Effect.tryPromise({
              try: () => {
                const client = connection.current()
                return Promise.all(commands.map((args) => client.sendCommand(args)))
              },
              catch: classify(CONNECTOR, "write")
            })
            return Retry.retrying(write, { policy, recover: reconnect }).pipe(
              Effect.andThen(refuse(refused)),
              Effect.as({ written: commands.length })
            )
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
