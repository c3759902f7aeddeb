/**
 * The `mqtt` source: subscribes to a topic filter on a persistent MQTT 5 session, through the
 * kit's buffered source.
 *
 * - **Acknowledgement after the checkpoint.** With QoS 1 the PUBACK, with QoS 2 the PUBREC of a
 *   message is sent only when the checkpoint covering it completed. mqtt.js acknowledges as soon
 *   as it has handled a message and handles packets one at a time (holding an acknowledgement in
 *   `customHandleAcks` would stop every packet after it), so the source takes the
 *   acknowledgements mqtt.js sends and keeps them (`internal/acks.ts`) until the checkpoint.
 *   `receive_maximum` bounds the messages the broker sends unacknowledged: how much one
 *   checkpoint interval reads (the broker queues the rest, up to its own limit: Mosquitto's
 *   `max_queued_messages`, default 1000, drops beyond it — see docs/connectors/mqtt.md).
 * - **Memory.** A broker may send past the window (Mosquitto 2.0 does): the buffer holds at most
 *   `receive_maximum + 1` messages (the read-ahead bound), and while it is full no message is
 *   taken (`internal/gate.ts`): mqtt.js stops reading the socket and TCP holds the broker back.
 * - **Persistent session.** `clean: false` with `session_expiry`: while the workflow is down the
 *   broker keeps the subscription and the messages. A run restored from a checkpoint whose
 *   session the broker no longer has (expired, or the broker lost it) is refused before reading:
 *   messages were lost.
 * - **Restart.** Packet ids belong to a connection: the broker sends the messages that were not
 *   acknowledged again, flagged `DUP`. Those the restored checkpoint covers (the crash came
 *   between the checkpoint and the acknowledgement) are recognized by their digests kept in the
 *   position (`kit/redelivery.ts`) and dropped: exactly once into an exactly-once sink with QoS
 *   1 or 2. QoS 0 is **at most once**.
 * - **Records**: the payload through `codec`; one that does not decode fails the run naming the
 *   message (delivery number, packet id, topic), nothing after it handed on. With
 *   `on_error: dead_letter` it is set aside instead (`kit/messageLetters.ts`: payload, reason,
 *   topic, delivery number, packet id) and acknowledged with the next message handed on — after
 *   the checkpoint covering it, hence after its dead-letter entry.
 *
 * @since 0.4.0
 */
import { randomUUID } from "node:crypto"
import { Effect, Scope } from "effect"
import type mqtt from "mqtt"
import * as Connector from "../../Connector.ts"
import { ConfigurationError, ConnectionError, ConnectorError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import { durationMillis } from "../../WorkflowGraph.ts"
import * as BufferedSource from "../kit/bufferedSource.ts"
import * as Codecs from "../kit/codecs/index.ts"
import { connectTimeoutMillis as timeoutOf } from "../kit/ConnectTimeout.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as MessageLetters from "../kit/messageLetters.ts"
import * as Positions from "../kit/Positions.ts"
import { digest, RedeliveryPosition, RedeliveryWindow } from "../kit/redelivery.ts"
import { HeldAcks } from "./internal/acks.ts"
import { brokerOf, classify, CONNECTOR, connect } from "./internal/client.ts"
import { MessageGate } from "./internal/gate.ts"
import { type SourceConfig, SourceConfig as SourceConfigSchema } from "./MqttConfig.ts"

const decodePosition = Positions.decoder(CONNECTOR, RedeliveryPosition)

/** The defaults of `receive_maximum` and `session_expiry` (seconds). */
const DEFAULT_RECEIVE_MAXIMUM = 1000
const DEFAULT_SESSION_EXPIRY_S = 3600

/**
 * What acknowledging a message takes: its number in the window and its packet id (none with QoS
 * 0), and the messages set aside (dead letters) since the one before (acknowledged with it).
 */
interface Handle {
  readonly seq: number
  readonly packetId: number | undefined
  readonly setAside?: ReadonlyArray<Handle>
}

const flatten = (handles: ReadonlyArray<Handle>): Array<Handle> => {
  const all: Array<Handle> = []
  for (const h of handles) {
    if (h.setAside !== undefined) for (const s of h.setAside) all.push(s)
    all.push(h)
  }
  return all
}

const sessionOptions = (config: SourceConfig): mqtt.IClientOptions => ({
  clientId: config.client_id,
  clean: false,
  properties: {
    sessionExpiryInterval: Math.min(4_294_967, Math.ceil(config.session_expiry === undefined ? DEFAULT_SESSION_EXPIRY_S : durationMillis(config.session_expiry) / 1000)),
    receiveMaximum: config.receive_maximum ?? DEFAULT_RECEIVE_MAXIMUM
  }
})

const openReader = Effect.fnUntraced(function*(
  config: SourceConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SourceReader<unknown>, ConnectorError, Scope.Scope> {
  const broker = brokerOf(config.url)
  const qos = config.qos ?? 1
  const codec = Codecs.byName(config.codec ?? "json")
  const window = new RedeliveryWindow()
  let restored = false
  let client: mqtt.MqttClient | undefined
  let acks: HeldAcks | undefined
  let gate: MessageGate | undefined
  let delivered = 0
  let failed = false
  /** Round trips confirming released acknowledgements, awaited (a while) before the client ends. */
  const trips = new Set<Promise<void>>()

  const receiveMaximum = config.receive_maximum ?? DEFAULT_RECEIVE_MAXIMUM
  const buffer = BufferedSource.make<unknown, Handle>({
    node: context.node,
    capacity: receiveMaximum + 1,
    // a broker that sends past receive_maximum (Mosquitto 2.0 does, resending a session's queue
    // after a reconnect) is held back by TCP: no message is taken while the buffer is full
    // (`internal/gate.ts`), so the buffer never holds more than its capacity
    pause: () => gate?.close(),
    resume: () => gate?.open(),
    advance: (handles) => window.mark(handles[handles.length - 1].seq),
    acknowledge: (handles) =>
      Effect.sync(() => {
        const all = flatten(handles)
        const round = window.acknowledged(all.map((h) => h.seq))
        const held = acks
        if (held === undefined) return
        for (const h of all) if (h.packetId !== undefined) held.release(h.packetId)
        // the broker handles a connection's packets in order: once this is answered, it has the
        // acknowledgements. Not awaited: the answer may queue behind messages the paused socket
        // holds back; the digests stay in positions until then (a lost connection fails the run).
        const trip = held.roundTrip().then(() => window.confirm(round), () => undefined)
        trips.add(trip)
        void trip.finally(() => trips.delete(trip))
      }),
    seek: (p) =>
      Effect.map(decodePosition(p), (position) => {
        window.restore(position)
        restored = true
      }),
    initial: window.mark(0)
  })

  const lost = (message: string) =>
    buffer.fail(new ConnectorError({ connector: CONNECTOR, operation: "read", reason: new ConnectionError({ message: `${message} (${broker}, topic ${config.topic})` }) }))

  const letters = MessageLetters.writer({ connector: CONNECTOR, node: context.node, config, report: context.onDeadLetters })
  // the messages set aside since the last one handed on: acknowledged with the next one
  const setAside = new MessageLetters.SetAside<Handle>()
  const ordered = new MessageLetters.InOrder()
  const handleMessage = (topic: string, payload: Buffer, packet: { readonly messageId?: number | undefined; readonly dup?: boolean }): void | Promise<void> => {
    if (failed) return
    delivered++
    const { seq, duplicate } = window.deliver(digest([topic, payload]), packet.dup === true)
    if (duplicate) {
      // the restored checkpoint holds it: acknowledge, hand nothing on
      window.acknowledged([seq])
      if (packet.messageId !== undefined) acks?.release(packet.messageId)
      return
    }
    const record = codec.decode(payload, { id: `${delivered}${packet.messageId === undefined ? "" : ` (packet id ${packet.messageId})`} on topic ${topic}` })
    if (!Codecs.isDecodeError(record)) return buffer.offer(record, setAside.attach<Handle>({ seq, packetId: packet.messageId }))
    const error = record.toRecordError()
    if (letters === undefined) {
      failed = true
      return buffer.fail(error)
    }
    const fields = { topic, delivery: delivered, packet_id: packet.messageId ?? null }
    return setAside.write(letters, MessageLetters.letter(payload, error, fields), { seq, packetId: packet.messageId }, (failure) => {
      failed = true
      buffer.fail(failure)
    })
  }
  const onMessage = (topic: string, payload: Buffer, packet: { readonly messageId?: number | undefined; readonly dup?: boolean }) =>
    ordered.run(() => handleMessage(topic, payload, packet))

  // connecting starts with the first read, after a restore's `seek`: the broker resends at once
  const start = Effect.gen(function*() {
    const connected = yield* connect(config.url, sessionOptions(config), timeoutOf(config), (c) => {
      acks = new HeldAcks(c)
      // QoS 2 messages are taken when they arrive (PUBLISH), not when mqtt.js emits them after PUBREL
      acks.onQos2 = onMessage
      gate = new MessageGate(c)
      // mqtt.js drops the connection when more QoS 2 messages than its Receive Maximum await
      // PUBREL, counting those whose PUBREC the source holds back and those whose PUBREL is still
      // to come (Mosquitto 2.0 sends PUBRELs late, behind further messages, and past the window):
      // the source bounds what it holds itself (the buffer; of what was read only packet ids are
      // kept, by mqtt.js too: `internal/acks.ts`). Bracket access: private in mqtt.js's typings
      c["_receiveMaximum"] = 65_535
      c.on("message", (topic, payload, packet) => {
        if (packet.qos !== 2) onMessage(topic, payload, packet)
      })
      c.on("error", (e) => buffer.fail(classify("read", broker)(e)))
      c.on("close", () => lost("the connection was closed"))
    }, true)
    client = connected.client
    // before the client ends (at once, dropping held acknowledgements): let the released ones
    // reach the broker, taking messages again if the gate was closed (what comes then is not handed on)
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => {
        failed = true
        gate?.open()
        return Promise.race([Promise.all([...trips]), new Promise((resolve) => setTimeout(resolve, 5000))])
      })
    )
    if (restored && !connected.sessionPresent && qos > 0) {
      return yield* new ConnectorError({
        connector: CONNECTOR,
        operation: "open",
        reason: new ConfigurationError({
          message: `the broker (${broker}) has no session for client_id '${config.client_id}' (it expired after session_expiry, or the broker lost it): ` +
            `messages published while the workflow was down may be lost. Run with --from-scratch to start a new session`
        })
      })
    }
    const subscribed = Effect.tryPromise({
      // rh 1: retained messages only for a new subscription, not again on every restart
      try: () => connected.client.subscribeAsync(config.topic, { qos, rh: 1 }),
      catch: classify("subscribe", broker)
    }).pipe(
      Effect.flatMap((granted) => {
        const code = granted[0]?.qos
        return code === undefined || code >= 128
          ? Effect.fail(classify("subscribe", broker)(Object.assign(new Error(`the broker refused the subscription to '${config.topic}'`), { code })))
          : Effect.void
      })
    )
    // A new session has nothing queued: the read waits for the SUBACK (the subscription exists
    // once the first read returned). A resumed one gets its queue at once, before the SUBACK,
    // which then waits behind the messages held while the buffer is full: the read must not wait
    // for it (it would never drain the buffer); a refusal fails a later read.
    if (!connected.sessionPresent) return yield* subscribed
    yield* Effect.forkScoped(Effect.catch(subscribed, (e) => Effect.sync(() => buffer.fail(e))))
  })

  const scope = yield* Effect.scope
  let started = false
  const reader = buffer.reader
  return {
    ...reader,
    // a checkpoint stores the whole position (digests included); batches carry only its mark
    position: Effect.sync(() => window.current()),
    commit: (p) => Effect.flatMap(decodePosition(p), (full) => reader.commit(window.markOf(full))),
    readBatch: (max: number) =>
      started
        ? reader.readBatch(max)
        : Effect.andThen(
          Effect.tap(Scope.provide(start, scope), () => Effect.sync(() => (started = true))),
          reader.readBatch(max)
        ),
    readBatchSync: (max: number) => (started && client !== undefined ? reader.readBatchSync!(max) : Connector.Pending)
  }
})

/**
 * The `mqtt` source definition.
 *
 * @example
 * ```yaml
 * sources:
 *   readings:
 *     type: mqtt
 *     config: { url: "${MQTT_URL}", topic: "plant/+/temperature", qos: 1, client_id: plant-readings }
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const MqttSource: Connector.SourceDefinition<SourceConfig, unknown> = Connector.source({
  type: CONNECTOR,
  description: "Subscribes to an MQTT 5 topic on a persistent session, acknowledging after checkpoints",
  config: SourceConfigSchema,
  capabilities: (config) => ({
    seekable: true,
    unbounded: true,
    // one session per client id
    maxParallelism: 1,
    delivery: (config.qos ?? 1) === 0
      ? { guarantee: "at-most-once", detail: "QoS 0: the broker sends each message once and never again; what was read after the last checkpoint is lost in a crash" }
      : {
        guarantee: "exactly-once",
        detail: `QoS ${config.qos ?? 1} on a persistent session, acknowledged after the checkpoint; DUP redeliveries the checkpoint covers are dropped (by digest of topic and payload), provided the session outlives an outage (session_expiry) and the broker keeps what is queued`
      }
  }),
  resources: (config) => ({
    reads: [{ kind: "mqtt-session", name: `${brokerOf(config.url)} ${config.client_id}`, key: ["client_id"] }],
    writes: DeadLetter.resources(config)
  }),
  check: (config) =>
    Effect.scoped(
      Effect.asVoid(
        // a throwaway clean session: the workflow's own session is left as it is
        connect(config.url, { clientId: `dataflare-check-${randomUUID().slice(0, 8)}`, clean: true }, timeoutOf(config), (c) => c.on("error", () => undefined), false)
      )
    ),
  position: () => RedeliveryPosition,
  open: (config, context) => openReader(config, context)
})

/**
 * A typed DSL spec of the `mqtt` source: `A` is the type of the decoded payloads.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A = unknown>(config: typeof SourceConfigSchema.Encoded): Spec.SourceSpec<A> => Spec.source<A>(CONNECTOR, config)
