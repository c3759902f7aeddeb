/**
 * The `nats` source: a durable JetStream pull consumer, acknowledged after checkpoints.
 *
 * - **Position**: `{ seq }`, the stream sequence of the last message read.
 * - **Start**: when opened (or restored), the durable consumer is (re)created to start right after
 *   the position: at `seq + 1` of a restored checkpoint, else after the consumer's acknowledged
 *   floor (a consumer left by an earlier run), else at the stream's start (`deliver: all`) or end
 *   (`deliver: new`). Everything after the checkpoint is delivered again at once and in order,
 *   nothing before it: with an exactly-once sink, nothing lost and nothing written twice.
 *   Messages after the position that the stream no longer holds (retention) fail the open.
 * - **Acknowledgement**: the consumer acknowledges cumulatively (`ack_policy: all`); `commit`
 *   acknowledges the last message a completed checkpoint covers (waiting for the server's
 *   confirmation). A message redelivered during a run (after `ack_wait`) is skipped: it was read
 *   already and is in flight.
 * - **Backpressure**: at most `buffer_size` messages are read ahead (plus one pull).
 * - **Parallelism**: 1 (one durable consumer per node, recreated at start).
 * - **Lag**: `records`: the consumer's pending count carried by the last message (`info.pending`)
 *   plus the messages read ahead and not yet returned; unknown until the first message.
 *
 * @since 0.4.0
 */
import { AckPolicy, type Consumer, type ConsumerMessages, DeliverPolicy, type JsMsg } from "@nats-io/jetstream"
import { Effect, Fiber, Schema, type Scope } from "effect"
import type { Position } from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { ConfigurationError, ConnectionError, ConnectorError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import * as BufferedSource from "../kit/bufferedSource.ts"
import * as Capabilities from "../kit/Capabilities.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as MessageLetters from "../kit/messageLetters.ts"
import * as Positions from "../kit/Positions.ts"
import { classify, type Session, session } from "./internal/client.ts"
import { decoder, type NatsRecord } from "./internal/codec.ts"
import { durationMillis, SourceConfig } from "./NatsConfig.ts"

const CONNECTOR = "nats"

/**
 * The position of the `nats` source: `{ seq }`, the stream sequence of the last message read
 * (`null` before any).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SequencePosition = Schema.NullOr(Schema.Struct({ seq: Positions.Offset }))

/**
 * A record of the `nats` source: the JSON object of the payload (`codec: json`), or
 * `{ subject, data }` (`codec: string`).
 *
 * @category models
 * @since 0.4.0
 */
export type Record = NatsRecord

const seqOf = (p: Position): number | undefined => {
  if (p === null || typeof p !== "object" || Array.isArray(p)) return undefined
  const seq = (p as { readonly [k: string]: Position }).seq
  return typeof seq === "number" ? seq : undefined
}

/** The sequence to start at, and the (re)created consumer. */
const prepareConsumer = async (s: Session, config: SourceConfig, restored: number | undefined, maxInFlight: number): Promise<Consumer> => {
  const info = await s.jsm.streams.info(config.stream)
  let start: number
  if (restored !== undefined) {
    start = restored + 1
  } else {
    const existing = await s.jsm.consumers.info(config.stream, config.consumer).catch(() => undefined)
    start = existing !== undefined
      ? existing.ack_floor.stream_seq + 1
      : config.deliver === "new" ? info.state.last_seq + 1 : 1
  }
  if (restored !== undefined && start < info.state.first_seq) {
    throw new ConnectorError({
      connector: CONNECTOR,
      operation: "open",
      reason: new ConfigurationError({
        message: `stream '${config.stream}' starts at sequence ${info.state.first_seq}: messages ${start} to ${info.state.first_seq - 1}, after the checkpoint, are gone (retention); run with --from-scratch to start over`
      })
    })
  }
  await s.jsm.consumers.delete(config.stream, config.consumer).catch(() => false)
  await s.jsm.consumers.add(config.stream, {
    durable_name: config.consumer,
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: Math.max(1, start),
    ack_wait: (config.ack_wait === undefined ? 300_000 : durationMillis(config.ack_wait)) * 1_000_000,
    max_ack_pending: maxInFlight,
    ...(config.subject !== undefined ? { filter_subject: config.subject } : {})
  })
  return s.js.consumers.get(config.stream, config.consumer)
}

const makeReader = Effect.fnUntraced(function*(config: SourceConfig, context: Connector.OpenContext): Effect.fn.Return<Connector.SourceReader<NatsRecord>, ConnectorError, Scope.Scope> {
  const s = yield* session(CONNECTOR, config)
  const scope = yield* Effect.scope
  const count = config.batch_size ?? 1000
  const maxInFlight = config.max_in_flight ?? 100_000
  const decode = decoder(config.codec ?? "json")
  const letters = MessageLetters.writer({ connector: CONNECTOR, node: context.node, config, report: context.onDeadLetters })
  let restored: number | undefined
  let high = 0
  /** The consumer's pending count when the last message arrived (messages not yet delivered). */
  let pending: number | undefined
  let fiber: Fiber.Fiber<void, never> | undefined
  let messages: ConsumerMessages | undefined
  /** Counts the reader's own stops of the message iterator (seek, close): a pump of an earlier one offers nothing more. */
  let generation = 0
  const stop = () => {
    generation++
    messages?.stop()
  }

  const buffer: BufferedSource.BufferedSource<NatsRecord, JsMsg> = BufferedSource.make<NatsRecord, JsMsg>({
    node: context.node,
    capacity: config.buffer_size ?? count * 10,
    maxInFlight,
    advance: (handles) => ({ seq: handles[handles.length - 1].seq }),
    // cumulative: acknowledging the last message acknowledges every one before it
    acknowledge: (handles) =>
      Effect.tryPromise({ try: () => handles[handles.length - 1].ackAck({ timeout: 10_000 }), catch: classify(CONNECTOR, "ack") }).pipe(
        Effect.flatMap((ok) => (ok ? Effect.void : Effect.fail(classify(CONNECTOR, "ack")(new Error("the server did not confirm the acknowledgement")))))
      ),
    seek: (p) =>
      Effect.gen(function*() {
        if (fiber !== undefined) yield* Fiber.interrupt(fiber)
        fiber = undefined
        restored = seqOf(p)
        high = restored ?? 0
        pending = undefined
      }),
    initial: null
  })

  const pump = async () => {
    const mine = generation
    const consumer = await prepareConsumer(s, config, restored, maxInFlight)
    const iterator = await consumer.consume({ max_messages: count, abort_on_missing_resource: true })
    if (mine !== generation) {
      iterator.stop()
      return
    }
    messages = iterator
    // a consumer or stream deleted under the reader is reported here, not by the messages
    void (async () => {
      for await (const status of iterator.status()) {
        if (mine !== generation) return
        if (status.type === "consumer_deleted" || status.type === "consumer_not_found" || status.type === "stream_not_found") {
          buffer.fail(new ConnectorError({
            connector: CONNECTOR,
            operation: "read",
            reason: new ConfigurationError({ message: `${status.type.replaceAll("_", " ")}: consumer '${config.consumer}' of stream '${config.stream}'` })
          }))
          stop()
          return
        }
      }
    })()
    for await (const m of iterator) {
      if (mine !== generation) return
      pending = m.info.pending
      // redelivered after ack_wait: read already in this run, waiting for its checkpoint
      if (m.seq <= high) continue
      high = m.seq
      const record = decode(m.data, m.subject, `${m.seq} of stream '${config.stream}' (subject ${m.subject})`)
      if (record instanceof Error) {
        if (letters === undefined) {
          buffer.fail(record)
          return
        }
        // set aside; acknowledged with the messages after it (cumulative acknowledgement)
        const failure = await MessageLetters.write(letters, MessageLetters.letter(m.data, record, { stream: config.stream, seq: m.seq, subject: m.subject }))
        if (failure !== undefined) {
          buffer.fail(failure)
          return
        }
        continue
      }
      buffer.offer(record, m)
      if (buffer.paused()) await Effect.runPromise(buffer.room)
    }
    if (mine !== generation) return
    const message = s.nc.isClosed()
      ? "the connection to the NATS server closed"
      : `the messages of consumer '${config.consumer}' of stream '${config.stream}' stopped coming (was the consumer or the stream deleted?)`
    buffer.fail(new ConnectorError({ connector: CONNECTOR, operation: "read", reason: new ConnectionError({ message }) }))
  }

  const run = Effect.tryPromise({ try: pump, catch: classify(CONNECTOR, "read") }).pipe(
    Effect.catch((e: ConnectorError) => Effect.sync(() => buffer.fail(e))),
    Effect.onInterrupt(() => Effect.sync(stop))
  )
  const startIfIdle = Effect.suspend(() => (fiber !== undefined ? Effect.void : Effect.map(Effect.forkIn(run, scope), (f) => void (fiber = f))))
  yield* Effect.addFinalizer(() => Effect.sync(stop))

  const reader = buffer.reader
  const syncRead = reader.readBatchSync!
  return {
    ...reader,
    readBatch: (max) => Effect.andThen(startIfIdle, reader.readBatch(max)),
    // not yet delivered by the server, plus delivered and still in the read-ahead buffer
    lag: () => (pending === undefined ? undefined : { value: pending + buffer.buffered(), unit: "records" as const }),
    readBatchSync: (max) => (fiber === undefined ? Connector.Pending : syncRead(max))
  }
})

/**
 * The `nats` source definition.
 *
 * @example
 * ```yaml
 * sources:
 *   events:
 *     type: nats
 *     config:
 *       servers: "127.0.0.1:4222"
 *       stream: EVENTS
 *       consumer: dataflare-events
 *       subject: events.>
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const NatsSource = Connector.source<SourceConfig, NatsRecord>({
  type: CONNECTOR,
  description: "Reads a NATS JetStream stream through a durable pull consumer; acknowledges after the checkpoint covering the messages",
  config: SourceConfig,
  capabilities: (config) =>
    Capabilities.stream({
      batchSize: config.batch_size ?? 1000,
      onlyOne: "the node owns one durable consumer, recreated at the restored position when it opens"
    }),
  position: () => SequencePosition,
  resources: (config) => ({
    reads: [{ kind: "nats-consumer", name: `${config.stream}/${config.consumer}`, key: ["consumer"] }],
    writes: DeadLetter.resources(config)
  }),
  check: (config) =>
    Effect.scoped(
      Effect.gen(function*() {
        const s = yield* session(CONNECTOR, config)
        yield* Effect.tryPromise({ try: () => s.jsm.streams.info(config.stream), catch: classify(CONNECTOR, "check") })
      })
    ),
  open: (config, context) => makeReader(config, context)
})

/**
 * A typed DSL spec of the `nats` source.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A extends NatsRecord = NatsRecord>(config: typeof SourceConfig.Encoded): Spec.SourceSpec<A> =>
  Spec.source<A>(CONNECTOR, config)
