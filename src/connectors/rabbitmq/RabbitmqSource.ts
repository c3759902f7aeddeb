/**
 * The `rabbitmq` source: consumes a queue with manual acknowledgements, through the kit's
 * buffered source.
 *
 * - **Acknowledgement after the checkpoint.** A message is acknowledged (`basic.ack`, `multiple`)
 *   only when the checkpoint covering it completed. `prefetch` bounds the messages delivered and
 *   not acknowledged: when it is reached the broker stops delivering, the source returns empty
 *   batches, the checkpoint under way completes (it waits for nothing the broker holds back) and
 *   its acknowledgements open the window again — no deadlock, and memory bounded by `prefetch`.
 * - **Restart.** Delivery tags belong to a channel: a restart cannot seek, the broker redelivers
 *   every message not acknowledged (flagged `redelivered`). Those the restored checkpoint covers
 *   — acknowledged too late, the crash came between the checkpoint and the broker processing the
 *   acknowledgement — are recognized by their digests kept in the position
 *   (`kit/redelivery.ts`) and dropped, so an exactly-once sink receives every message once.
 *   Not recognized: a redelivery to another consumer of the queue. Hence `maxParallelism: 1`,
 *   and the queue should have no other consumer (see docs/connectors/rabbitmq.md).
 * - **Records**: the body through `codec` (the kit's `json`, `string` or `bytes`); a body that does
 *   not decode fails the run naming the message (delivery number, message id, queue) before
 *   anything after it is handed on, and the message stays unacknowledged (it is redelivered on the
 *   next run). With `on_error: dead_letter` it is set aside instead (`kit/messageLetters.ts`:
 *   body, reason, queue, delivery number, message id, routing key) and acknowledged with the next
 *   message handed on — after the checkpoint covering it, hence after its dead-letter entry.
 * - **Lag**: `records`: the queue's ready messages (`checkQueue`'s `messageCount`), polled every
 *   second on a channel of its own, plus the messages delivered and not yet returned.
 *
 * @since 0.4.0
 */
import type amqp from "amqplib"
import { Effect, type Scope } from "effect"
import * as Connector from "../../Connector.ts"
import { ConnectionError, ConnectorError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import * as BufferedSource from "../kit/bufferedSource.ts"
import * as Codecs from "../kit/codecs/index.ts"
import { connectTimeoutMillis } from "../kit/ConnectTimeout.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as LagPoll from "../kit/LagPoll.ts"
import * as MessageLetters from "../kit/messageLetters.ts"
import * as Positions from "../kit/Positions.ts"
import { digest, RedeliveryPosition, RedeliveryWindow } from "../kit/redelivery.ts"
import { brokerOf, checkWith, classify, CONNECTOR, connection } from "./internal/client.ts"
import { type SourceConfig, SourceConfig as SourceConfigSchema } from "./RabbitmqConfig.ts"

const decodePosition = Positions.decoder(CONNECTOR, RedeliveryPosition)

/** The default of `prefetch`. */
const DEFAULT_PREFETCH = 1000

/**
 * What acknowledging a message takes: its number in the window and the amqplib message, and the
 * numbers of the messages set aside (dead letters) since the one before (acknowledged with it).
 */
interface Handle {
  readonly seq: number
  readonly message: amqp.ConsumeMessage
  readonly setAside?: ReadonlyArray<number>
}

const seqsOf = (handles: ReadonlyArray<Handle>): Array<number> => {
  const seqs: Array<number> = []
  for (const h of handles) {
    if (h.setAside !== undefined) for (const s of h.setAside) seqs.push(s)
    seqs.push(h.seq)
  }
  return seqs
}

const identity = (m: amqp.ConsumeMessage): string => {
  const id = m.properties.messageId
  return typeof id === "string" ? id : id === undefined || id === null ? "" : String(id)
}

const openReader = Effect.fnUntraced(function*(
  config: SourceConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SourceReader<unknown>, ConnectorError, Scope.Scope> {
  const broker = brokerOf(config.url)
  const prefetch = config.prefetch ?? DEFAULT_PREFETCH
  const codec = Codecs.byName(config.codec ?? "json")
  const conn = yield* connection(config.url, connectTimeoutMillis(config))
  const channel = yield* Effect.tryPromise({ try: () => conn.createChannel(), catch: classify("open", broker) })
  const window = new RedeliveryWindow()
  let delivered = 0
  // after a failure nothing more is handed on: what follows stays unacknowledged, for the next run
  let failed = false

  const buffer = BufferedSource.make<unknown, Handle>({
    node: context.node,
    // the broker holds back what is past `prefetch`: the buffer never needs to pause it
    capacity: prefetch + 1,
    advance: (handles) => window.mark(handles[handles.length - 1].seq),
    acknowledge: (handles) =>
      Effect.tryPromise({
        try: async () => {
          const round = window.acknowledged(seqsOf(handles))
          // cumulative: acknowledges the messages set aside before the last one too
          channel.ack(handles[handles.length - 1].message, true)
          // channel requests are answered in order: once this one is, the broker has processed the acks
          await channel.checkQueue(config.queue)
          window.confirm(round)
        },
        catch: classify("acknowledge", broker)
      }),
    seek: (p) => Effect.map(decodePosition(p), (restored) => window.restore(restored)),
    initial: window.mark(0)
  })

  const lost = (message: string) =>
    buffer.fail(new ConnectorError({ connector: CONNECTOR, operation: "read", reason: new ConnectionError({ message: `${message} (${broker}, queue ${config.queue})` }) }))
  channel.on("error", (e: unknown) => buffer.fail(classify("read", broker)(e)))
  channel.on("close", () => lost("the channel was closed"))
  // the connection is shared (kit/Clients.ts): this node's listener goes with the node
  const onClose = () => lost("the connection was closed")
  conn.on("close", onClose)
  yield* Effect.addFinalizer(() => Effect.sync(() => void conn.off("close", onClose)))

  yield* Effect.tryPromise({
    try: async () => {
      await channel.checkQueue(config.queue)
      await channel.prefetch(prefetch)
    },
    catch: classify("open", broker)
  })
  const letters = MessageLetters.writer({ connector: CONNECTOR, node: context.node, config, report: context.onDeadLetters })
  // the messages set aside since the last one handed on: acknowledged with the next one
  const setAside = new MessageLetters.SetAside<number>()
  const ordered = new MessageLetters.InOrder()
  const onMessage = (m: amqp.ConsumeMessage | null): void | Promise<void> => {
    if (m === null) return lost("the broker cancelled the consumer (was the queue deleted?)")
    if (failed) return
    delivered++
    const id = identity(m)
    const { seq, duplicate } = window.deliver(digest([m.content, m.fields.exchange, m.fields.routingKey, id]), m.fields.redelivered)
    if (duplicate) {
      // the restored checkpoint holds it: acknowledge, hand nothing on
      window.acknowledged([seq])
      channel.ack(m)
      return
    }
    const record = codec.decode(m.content, { id: `${delivered}${id === "" ? "" : ` (message id ${JSON.stringify(id)})`} of queue ${config.queue}` })
    if (!Codecs.isDecodeError(record)) return buffer.offer(record, setAside.attach({ seq, message: m }))
    const error = record.toRecordError()
    if (letters === undefined) {
      failed = true
      return buffer.fail(error)
    }
    const fields = { queue: config.queue, delivery: delivered, message_id: id === "" ? null : id, exchange: m.fields.exchange, routing_key: m.fields.routingKey }
    return setAside.write(letters, MessageLetters.letter(m.content, error, fields), seq, (failure) => {
      failed = true
      buffer.fail(failure)
    })
  }
  // consuming starts with the first read, after a restore's `seek`: the redeliveries come at once
  const consume = Effect.tryPromise({
    try: () => channel.consume(config.queue, (m) => ordered.run(() => onMessage(m)), { noAck: false }),
    catch: classify("open", broker)
  })
  yield* Effect.addFinalizer(() => Effect.promise(() => channel.close().catch(() => undefined)))
  // the lag: the queue's ready messages (`checkQueue`) polled on a channel of its own, plus those
  // delivered and not yet returned; a failed poll (queue deleted: the channel closes) leaves it unknown
  const lagChannel = yield* Effect.tryPromise({ try: () => conn.createChannel(), catch: classify("open", broker) })
  lagChannel.on("error", () => undefined)
  yield* Effect.addFinalizer(() => Effect.promise(() => lagChannel.close().catch(() => undefined)))
  const lag = yield* LagPoll.poll({
    query: Effect.tryPromise(async () => (await lagChannel.checkQueue(config.queue)).messageCount),
    unit: "records",
    extra: buffer.buffered
  })
  let started = false
  const reader = buffer.reader
  return {
    ...reader,
    lag,
    // a checkpoint stores the whole position (digests included); batches carry only its mark
    position: Effect.sync(() => window.current()),
    commit: (p) => Effect.flatMap(decodePosition(p), (full) => reader.commit(window.markOf(full))),
    readBatch: (max: number) =>
      started ? reader.readBatch(max) : Effect.andThen(Effect.tap(consume, () => Effect.sync(() => (started = true))), reader.readBatch(max)),
    readBatchSync: (max: number) => (started ? reader.readBatchSync!(max) : Connector.Pending)
  }
})

/**
 * The `rabbitmq` source definition.
 *
 * @example
 * ```yaml
 * sources:
 *   orders:
 *     type: rabbitmq
 *     config: { url: "${RABBITMQ_URL}", queue: orders, prefetch: 5000 }
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const RabbitmqSource: Connector.SourceDefinition<SourceConfig, unknown> = Connector.source({
  type: CONNECTOR,
  description: "Consumes a RabbitMQ queue, acknowledging messages after the checkpoint covering them",
  config: SourceConfigSchema,
  capabilities: () => ({
    seekable: true,
    unbounded: true,
    // redeliveries are recognized by the consumer that had the message
    maxParallelism: 1,
    delivery: {
      guarantee: "exactly-once",
      detail:
        "acknowledged after the checkpoint; redeliveries the checkpoint covers are dropped (by digest of body, routing key and message id), provided the workflow is the queue's only consumer"
    }
  }),
  resources: (config) => ({
    reads: [{ kind: "rabbitmq-queue", name: `${brokerOf(config.url)} ${config.queue}`, key: ["queue"] }],
    writes: DeadLetter.resources(config)
  }),
  check: (config) =>
    checkWith(config.url, connectTimeoutMillis(config), (channel) =>
      channel.checkQueue(config.queue)),
  position: () => RedeliveryPosition,
  open: (config, context) => openReader(config, context)
})

/**
 * A typed DSL spec of the `rabbitmq` source: `A` is the type of the messages' JSON bodies.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A = unknown>(config: typeof SourceConfigSchema.Encoded): Spec.SourceSpec<A> =>
  Spec.source<A>(CONNECTOR, config)
