/**
 * The `nats` sink: publishes each record to `subject` on JetStream and waits for the server's
 * acknowledgement of every message of a batch before the batch counts as written.
 *
 * **Exactly-once within the stream's duplicate window.** Every message carries a `Nats-Msg-Id`
 * derived from the record's checkpoint position: `<workflow>/<node>/<instance>:<lineage>:<c>:<k>:<h>`
 * — `c` the last checkpoint before the record, `k` its index among the records written since,
 * `h` a hash of its payload, `lineage` a random tag of the run history (a run from scratch starts
 * a new one; a restored run finds it on the last message it published). After a restore from
 * checkpoint `c`, the replayed records get the ids they had, and JetStream drops them as
 * duplicates — as long as the replay comes within the stream's `duplicate_window` (2 minutes by
 * default) of the first publish. Later, or if the records reach the sink in another order (a
 * non-deterministic merge upstream), they are published again: at-least-once, never lost (the
 * payload hash keeps a different record from taking another's id). `dataflare plan` says so.
 *
 * @since 0.4.0
 */
import { Effect } from "effect"
import type { Batch } from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { hashKey } from "../../internal/hash.ts"
import * as Spec from "../../Spec.ts"
import { classify, session } from "./internal/client.ts"
import { bytes, encodeText } from "./internal/codec.ts"
import { SinkConfig } from "./NatsConfig.ts"

const CONNECTOR = "nats"

/** The lineage and checkpoint of the last message this sink instance published, from its id. */
const parseId = (id: string | undefined, prefix: string): { readonly lineage: string; readonly checkpoint: number } | undefined => {
  if (id === undefined || !id.startsWith(prefix + ":")) return undefined
  const [lineage, checkpoint] = id.slice(prefix.length + 1).split(":")
  return lineage === undefined || checkpoint === undefined ? undefined : { lineage, checkpoint: Number(checkpoint) }
}

const randomLineage = () => Math.random().toString(36).slice(2, 10)

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
      const stream = yield* Effect.tryPromise({ try: () => s.jsm.streams.find(config.subject), catch: classify(CONNECTOR, "open") })
      const codec = config.codec ?? "json"
      const prefix = `${context.workflow ?? "dataflare"}/${context.node}/${context.instance}`
      let lineage = randomLineage()
      let checkpoint = 0
      let index = 0
      let duplicates = 0

      const lastOwn = Effect.tryPromise({
        try: async () => {
          const last = await s.jsm.streams.getMessage(stream, { last_by_subj: config.subject }).catch(() => null)
          return parseId(last?.header?.get("Nats-Msg-Id"), prefix)
        },
        catch: classify(CONNECTOR, "restore")
      })

      const writer: Connector.SinkWriter<unknown> & { readonly duplicates: () => number } = {
        duplicates: () => duplicates,
        writeBatch: (batch: Batch<unknown>) =>
          Effect.tryPromise({
            try: async () => {
              const sent: Array<Promise<{ readonly duplicate: boolean }>> = []
              const { records, start, end } = batch
              for (let i = start; i < end; i++) {
                const text = encodeText(codec, records[i])
                const msgID = `${prefix}:${lineage}:${checkpoint}:${index++}:${hashKey(text).toString(36)}`
                sent.push(s.js.publish(config.subject, bytes(text), { msgID }))
              }
              for (const ack of await Promise.all(sent)) if (ack.duplicate) duplicates++
              return { written: end - start }
            },
            catch: classify(CONNECTOR, "write")
          }),
        flush: Effect.void,
        restore: (id) =>
          Effect.gen(function*() {
            const last = context.fromScratch === true ? undefined : yield* lastOwn
            // the lineage continues when this instance's last message belongs to it: restored
            // from a checkpoint, or (no checkpoint yet) a run that died before its first one
            lineage = last !== undefined && (id !== undefined || last.checkpoint === 0) ? last.lineage : randomLineage()
            checkpoint = id ?? 0
            index = 0
          }),
        preCommit: (id) =>
          Effect.sync(() => {
            checkpoint = id
            index = 0
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
