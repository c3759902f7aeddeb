/**
 * The `nats` sink: publishes each record to `subject` on JetStream and waits for the server's
 * acknowledgement of every message of a batch before the batch counts as written.
 *
 * **Exactly-once within the stream's duplicate window.** Every message carries a `Nats-Msg-Id`
 * derived from the record's checkpoint position: `<workflow>/<node>/<instance>:<lineage>:<k>:<h>`
 * — `k` the record's index among everything the sink instance wrote since its lineage began, `h`
 * a hash of its payload, `lineage` a random tag of the run history (a run with no checkpoint to
 * restore starts a new one, so running a workflow twice publishes twice). When checkpoint `c` reaches the sink (`preCommit`), the sink records `k` at `c` and its
 * lineage in a small state stream of its own (`DATAFLARE_SINK_STATE`, one subject per sink
 * instance, the last message kept); a run restored from `c` continues at that `k`, so the records
 * it replays get the ids they had, and JetStream drops them as duplicates — as long as the replay
 * comes within the target stream's `duplicate_window` (2 minutes by default) of the first publish.
 * Later, or if the records reach the sink in another order (a non-deterministic merge upstream),
 * they are published again: at-least-once, never lost (the payload hash keeps a different record
 * from taking another's id). `dataflare plan` says so.
 *
 * **Refused records.** A record the codec cannot encode, larger than the server's `max_payload`
 * (checked before publishing, the message-id header included), or refused by the stream in its
 * publish acknowledgement (larger than its `max_msg_size`, a full stream with `discard: new`)
 * fails the run naming it (`on_error: fail`) or goes to the dead letters (`on_error:
 * dead_letter`). It still takes its place in the message-id sequence, so the records after it get
 * the same ids on a replay, and de-duplication holds across dead letters. A lost connection or a
 * timeout is retried (the whole batch, same ids); no stream for the subject fails the run.
 *
 * @since 0.4.0
 */
import type { JetStreamManager } from "@nats-io/jetstream"
import { Effect } from "effect"
import type { Batch } from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { hashKey } from "../../internal/hash.ts"
import * as Spec from "../../Spec.ts"
import * as Retry from "../kit/Retry.ts"
import { classify, session } from "./internal/client.ts"
import { bytes, encodeText } from "./internal/codec.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as PublishLetters from "../kit/publishLetters.ts"
import { SinkConfig } from "./NatsConfig.ts"

const CONNECTOR = "nats"

/** The stream the sinks keep their lineage and per-checkpoint indexes in. */
export const STATE_STREAM = "DATAFLARE_SINK_STATE"
const STATE_PREFIX = "dataflare.sink"
/** Checkpoints remembered per sink instance (a restore goes to the last completed one). */
const REMEMBERED = 16

/** What a sink instance records at each checkpoint. */
interface SinkState {
  readonly lineage: string
  /** `[checkpoint, index of the next record]`, oldest first. */
  readonly marks: ReadonlyArray<readonly [number, number]>
}

/** A subject token for a name (NATS tokens cannot hold `.`, `*`, `>` or spaces). */
const token = (name: string): string => {
  const safe = name.replace(/[^A-Za-z0-9_-]/g, "_")
  return safe === name ? name : `${safe}_${hashKey(name).toString(36)}`
}

/** NATS's default `max_payload`, when the server's INFO does not say. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/** Bytes of the headers of a message with a `Nats-Msg-Id` (they count in `max_payload`). */
const headerBytes = (id: string): number => "NATS/1.0\r\nNats-Msg-Id: \r\n\r\n".length + Buffer.byteLength(id, "utf8")

/**
 * JetStream publish errors about the message itself (`err_code`): larger than the stream's
 * `max_msg_size` (10054), a stream full with `discard: new` (10077 messages, 10078 bytes). Other errors (no stream for the subject, a timeout) are not the record's.
 */
const MESSAGE_ERRORS = new Set([10054, 10077, 10078])

/** The refusal of a message the server refused, or `undefined` when the error is not the record's. */
const messageRefusal = (error: unknown, record: unknown, id: string): PublishLetters.Refusal | undefined => {
  if (error === null || typeof error !== "object") return undefined
  const name = "name" in error ? error.name : undefined
  const code = "code" in error ? error.code : undefined
  const message = "message" in error ? String(error.message) : String(error)
  if (name === "JetStreamApiError" && typeof code === "number" && MESSAGE_ERRORS.has(code)) {
    return { record, reason: `the stream refused the message: ${message}`, fields: { err_code: code, msg_id: id } }
  }
  // the client's own check of max_payload (the server's INFO may have changed since the sink opened)
  if (name === "InvalidArgumentError" && /max_payload/.test(message)) return { record, reason: message, fields: { msg_id: id } }
  return undefined
}

/** The payload text of a record, or (given the record) its refusal: a value without JSON text. */
const encodeMessage = (codec: "json" | "string", record: unknown): string | ((record: unknown) => PublishLetters.Refusal) => {
  try {
    return encodeText(codec, record)
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e)
    return (r) => PublishLetters.unencodable(r, codec, detail)
  }
}

const randomLineage = () => Math.random().toString(36).slice(2, 10)

const parseState = (data: Uint8Array | undefined): SinkState | undefined => {
  if (data === undefined) return undefined
  try {
    const o = JSON.parse(new TextDecoder().decode(data)) as { lineage?: unknown; marks?: unknown }
    if (typeof o.lineage !== "string" || !Array.isArray(o.marks)) return undefined
    const marks = o.marks.filter((m): m is [number, number] => Array.isArray(m) && typeof m[0] === "number" && typeof m[1] === "number")
    return { lineage: o.lineage, marks }
  } catch {
    return undefined
  }
}

const ensureStateStream = async (jsm: JetStreamManager): Promise<void> => {
  const exists = await jsm.streams.info(STATE_STREAM).then(() => true, () => false)
  if (exists) return
  await jsm.streams.add({ name: STATE_STREAM, subjects: [`${STATE_PREFIX}.>`], max_msgs_per_subject: 1 }).catch(async (e: unknown) => {
    // created by another sink meanwhile
    if (!(await jsm.streams.info(STATE_STREAM).then(() => true, () => false))) throw e
  })
}

/**
 * The `nats` sink definition.
 *
 * @example
 * ```yaml
 * destinations:
 *   out:
 *     type: nats
 *     inputs: [events]
 *     config:
 *       servers: "127.0.0.1:4222"
 *       subject: events.clean
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const NatsSink = Connector.sink<SinkConfig, unknown>({
  type: CONNECTOR,
  description: "Publishes records to a NATS JetStream subject with Nats-Msg-Id de-duplication (exactly-once within the duplicate window)",
  config: SinkConfig,
  capabilities: () => ({
    guarantee: "exactly-once",
    guaranteeNote: "replays de-duplicated by Nats-Msg-Id within the stream's duplicate_window",
    transactional: false,
    preferredBatchSize: 1000
  }),
  resources: (config) => ({ writes: [{ kind: "nats-subject", name: config.subject, key: ["subject"], shared: true }, ...DeadLetter.resources(config)] }),
  check: (config) =>
    Effect.scoped(
      Effect.gen(function*() {
        const s = yield* session(CONNECTOR, config)
        // a subject no stream captures would be published into the void
        yield* Effect.tryPromise({ try: () => s.jsm.streams.find(config.subject), catch: classify(CONNECTOR, "check") })
      })
    ),
  open: (config, context) =>
    Effect.gen(function*() {
      const s = yield* session(CONNECTOR, config)
      yield* Effect.tryPromise({
        try: async () => {
          await s.jsm.streams.find(config.subject)
          await ensureStateStream(s.jsm)
        },
        catch: classify(CONNECTOR, "open")
      })
      const codec = config.codec ?? "json"
      const workflow = context.workflow ?? "dataflare"
      const prefix = `${workflow}/${context.node}/${context.instance}`
      const stateSubject = `${STATE_PREFIX}.${token(workflow)}.${token(context.node)}.${context.instance}.${token(config.subject)}`
      let lineage = randomLineage()
      let marks: Array<readonly [number, number]> = []
      let index = 0
      let duplicates = 0
      const policy = Retry.policy(config.retry)
      const maxPayload = s.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD
      const refuse = PublishLetters.refuser({ connector: CONNECTOR, context, config, deadLetterContext: { subject: config.subject } })

      const loadState = Effect.tryPromise({
        try: async () => {
          const last = await s.jsm.streams.getMessage(STATE_STREAM, { last_by_subj: stateSubject }).catch(() => null)
          return parseState(last?.data)
        },
        catch: classify(CONNECTOR, "restore")
      })

      const writer: Connector.SinkWriter<unknown> & { readonly duplicates: () => number } = {
        duplicates: () => duplicates,
        writeBatch: (batch: Batch<unknown>) =>
          Effect.suspend(() => {
            const { records, start, end } = batch
            // ids are taken once: a retried batch publishes the same ids, and what reached the
            // stream before the failure is dropped as a duplicate
            // a refused record takes its index too: the records after it keep their ids on a replay
            const payloads: Array<Uint8Array> = []
            const ids: Array<string> = []
            const sent: Array<unknown> = []
            const refused: Array<PublishLetters.Refusal> = []
            for (let i = start; i < end; i++) {
              const k = index++
              const text = encodeMessage(codec, records[i])
              if (typeof text !== "string") {
                refused.push(text(records[i]))
                continue
              }
              const id = `${prefix}:${lineage}:${k}:${hashKey(text).toString(36)}`
              const body = bytes(text)
              const limit = maxPayload - headerBytes(id)
              if (body.byteLength > limit) {
                refused.push(PublishLetters.oversize(records[i], body.byteLength, { bytes: limit, what: "the server's max_payload less the message-id header" }))
                continue
              }
              payloads.push(body)
              ids.push(id)
              sent.push(records[i])
            }
            const publish = Effect.tryPromise({
              try: async () => {
                const outcomes = await Promise.allSettled(payloads.map((p, i) => s.js.publish(config.subject, p, { msgID: ids[i] })))
                const refusedNow: Array<PublishLetters.Refusal> = []
                for (let i = 0; i < outcomes.length; i++) {
                  const o = outcomes[i]
                  if (o.status === "fulfilled") {
                    if (o.value.duplicate) duplicates++
                    continue
                  }
                  const refusal = messageRefusal(o.reason, sent[i], ids[i])
                  // anything else (a timeout, a lost connection) fails the attempt: the batch is
                  // published again with the same ids, and what was stored is dropped as a duplicate
                  if (refusal === undefined) throw o.reason
                  refusedNow.push(refusal)
                }
                return refusedNow
              },
              catch: classify(CONNECTOR, "write")
            })
            return Retry.retrying(publish, { policy }).pipe(
              Effect.flatMap((refusedNow) => refuse([...refused, ...refusedNow])),
              Effect.as({ written: payloads.length })
            )
          }),
        flush: Effect.void,
        restore: (id) =>
          Effect.gen(function*() {
            // without a checkpoint to restore, the run is a new one (a new state directory, a first
            // run, `--from-scratch`): its records must be published even when an earlier run of the
            // same workflow published the same records minutes ago; taking that run's lineage would
            // have JetStream drop them as duplicates, losing them. (A crash before the first
            // checkpoint is resumed the same way: at-least-once, never lost.)
            const state = context.fromScratch === true || id === undefined ? undefined : yield* loadState
            const mark = id === undefined ? undefined : state?.marks.find((m) => m[0] === id)
            if (state !== undefined && mark !== undefined) {
              // the lineage goes on: the replay after checkpoint `id` gets the ids it had
              lineage = state.lineage
              marks = state.marks.filter((m) => id !== undefined && m[0] <= id)
              index = mark?.[1] ?? 0
            } else {
              // from scratch, or nothing recorded at this checkpoint: new ids (a replay is published again)
              lineage = randomLineage()
              marks = []
              index = 0
            }
          }),
        preCommit: (id) =>
          Effect.gen(function*() {
            marks = [...marks.filter((m) => m[0] < id), [id, index] as const].slice(-REMEMBERED)
            const state: SinkState = { lineage, marks }
            yield* Effect.tryPromise({
              try: () => s.js.publish(stateSubject, JSON.stringify(state)),
              catch: classify(CONNECTOR, "checkpoint")
            })
          }),
        commit: () => Effect.void
      }
      return writer
    })
})

/**
 * A typed DSL spec of the `nats` sink.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A = unknown>(config: typeof SinkConfig.Encoded): Spec.SinkSpec<A> => Spec.sink<A>(CONNECTOR, config)
