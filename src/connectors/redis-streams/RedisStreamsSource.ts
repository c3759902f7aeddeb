/**
 * The `redis-streams` source: reads a stream as a consumer of a consumer group.
 *
 * - **Group**: created at `start` (`"0"` by default, `"$"` for new entries only) when missing
 *   (`XGROUP CREATE ... MKSTREAM`); an existing group keeps its position.
 * - **Acknowledgement**: `XACK` only in `commit`, after a checkpoint covering the entries
 *   completed; reading runs ahead of acknowledgements by at most `max_in_flight` entries.
 * - **Restart**: the consumer first reads its own pending entries again, skipping those the
 *   restored checkpoint covers (a crash between a checkpoint and its `XACK`), then new ones — so
 *   with an exactly-once sink nothing is lost and nothing is written twice.
 * - **Dead consumers**: the pending entries of a consumer idle for `claim_idle` are claimed and
 *   read (see `internal/groupReader.ts` for why `XCLAIM` and the position's `claimed` list).
 * - **Backpressure**: at most `buffer_size` entries are read ahead; reading pauses beyond.
 * - **Lag**: `records`: the group's `lag` (`XINFO GROUPS`, Redis 7+: entries not yet delivered to
 *   the group) polled every second on the control connection, plus the entries read ahead.
 * - **Parallelism**: instance `i` of `n > 1` reads as consumer `<consumer>-<i>` of the same group.
 *
 * @since 0.4.0
 */
import { Effect, Schema } from "effect"
import * as Connector from "../../Connector.ts"
import * as Spec from "../../Spec.ts"
import * as Capabilities from "../kit/Capabilities.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as MessageLetters from "../kit/messageLetters.ts"
import * as LagPoll from "../kit/LagPoll.ts"
import { checkStream, groupLagOf, send, session, shared } from "./internal/client.ts"
import type { StreamRecord } from "./internal/codec.ts"
import * as GroupReader from "./internal/groupReader.ts"
import { durationMillis, SourceConfig } from "./RedisStreamsConfig.ts"

const CONNECTOR = "redis-streams"

const EntryId = Schema.String.check(Schema.isPattern(/^\d{1,20}-\d{1,20}$/u))

/**
 * The position of the `redis-streams` source: `id`, the highest entry id read through the
 * consumer (`null` before any), and `claimed`, the ids of entries claimed from dead consumers that
 * are read and not yet acknowledged.
 *
 * @category schemas
 * @since 0.4.0
 */
export const StreamPosition = Schema.Struct({ id: Schema.NullOr(EntryId), claimed: Schema.Array(EntryId) })

/**
 * A record of the `redis-streams` source: the entry's fields (`codec: fields`), or its JSON
 * value (`codec: json`), plus its id under `id_field` when set.
 *
 * @category models
 * @since 0.4.0
 */
export type Record = StreamRecord

/**
 * The `redis-streams` source definition.
 *
 * @example
 * ```yaml
 * sources:
 *   events:
 *     type: redis-streams
 *     config:
 *       url: "${REDIS_URL}"
 *       stream: events
 *       group: dataflare
 *       consumer: worker-1
 *       codec: json
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const RedisStreamsSource = Connector.source<SourceConfig, StreamRecord>({
  type: CONNECTOR,
  description: "Reads a Redis stream as a consumer group member; XACK after the checkpoint covering the entries",
  config: SourceConfig,
  // consumers of one group share its entries: any number of instances
  capabilities: (config) => Capabilities.stream({ batchSize: config.batch_size ?? 1000 }),
  position: () => StreamPosition,
  // not shared: a sink appending to the stream this node reads would feed the workflow its own output
  resources: (config) => ({ reads: [{ kind: "redis-stream", name: config.stream, key: ["stream"] }], writes: DeadLetter.resources(config) }),
  check: (config) => checkStream(CONNECTOR, config.url, config.stream),
  open: (config, context) =>
    Effect.gen(function*() {
      const reads = yield* session(CONNECTOR, config.url)
      // acknowledgements, claims, XINFO: on the connection shared with the other nodes on this URL
      const control = yield* shared(CONNECTOR, config.url)
      const count = config.batch_size ?? 1000
      const buffered = yield* GroupReader.make({
        node: context.node,
        stream: config.stream,
        group: config.group,
        consumer: context.parallelism > 1 ? `${config.consumer}-${context.instance}` : config.consumer,
        start: config.start ?? "0",
        count,
        blockMs: config.block === undefined ? 100 : durationMillis(config.block),
        claimIdleMs: config.claim_idle === undefined ? 60_000 : durationMillis(config.claim_idle),
        bufferSize: config.buffer_size ?? count * 10,
        maxInFlight: config.max_in_flight ?? 1_000_000,
        decode: { codec: config.codec ?? "fields", field: config.field ?? "data", idField: config.id_field, stream: config.stream },
        reads,
        control: control.current,
        deadLetters: MessageLetters.writer({ connector: CONNECTOR, node: context.node, config, report: context.onDeadLetters })
      })
      // on `control` (never on `reads`, which blocks in XREADGROUP); the group's lag counts entries
      // not yet delivered, the buffer those delivered and not yet returned
      const lag = yield* LagPoll.poll({
        query: Effect.tryPromise(() => send(control.current(), ["XINFO", "GROUPS", config.stream])).pipe(Effect.map((reply) => groupLagOf(reply, config.group))),
        unit: "records",
        extra: buffered.buffered
      })
      return { ...buffered.reader, lag }
    })
})

/**
 * A typed DSL spec of the `redis-streams` source.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A extends StreamRecord = StreamRecord>(config: typeof SourceConfig.Encoded): Spec.SourceSpec<A> =>
  Spec.source<A>(CONNECTOR, config)
