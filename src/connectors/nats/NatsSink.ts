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
  resources: (config) => ({ writes: [{ kind: "nats-subject", name: config.subject, key: ["subject"], shared: true }] }),
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
            const payloads: Array<Uint8Array> = []
            const ids: Array<string> = []
            for (let i = start; i < end; i++) {
              const text = encodeText(codec, records[i])
              payloads.push(bytes(text))
              ids.push(`${prefix}:${lineage}:${index++}:${hashKey(text).toString(36)}`)
            }
            const publish = Effect.tryPromise({
              try: async () => {
                const acks = await Promise.all(payloads.map((p, i) => s.js.publish(config.subject, p, { msgID: ids[i] })))
                for (const ack of acks) if (ack.duplicate) duplicates++
              },
              catch: classify(CONNECTOR, "write")
            })
            return Retry.retrying(publish, { policy }).pipe(Effect.as({ written: end - start }))
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
