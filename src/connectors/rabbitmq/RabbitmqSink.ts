/**
 * The `rabbitmq` sink: publishes every record to an exchange on a confirm channel.
 *
 * - **Publisher confirms before the checkpoint.** Writes do not wait for the broker (amqplib's
 *   write buffer is the only wait: a full socket makes `writeBatch` wait for `drain`);
 *   `flush`, which runs at every checkpoint barrier before the sink acknowledges it, waits until
 *   the broker confirmed every message published so far. A message the broker refuses (`nack`)
 *   fails the run there: the checkpoint never completes, so the source does not acknowledge the
 *   records behind it.
 * - **Guarantee: at-least-once.** After a crash the records written since the last completed
 *   checkpoint are published again; RabbitMQ has no de-duplication of its own. Consumers that
 *   must see each record once de-duplicate by a key of the record.
 * - **Routing**: `routing_key` is either one key, or `{ field }`: the record's field (a string)
 *   holding it; a record without it fails naming the record.
 *
 * @since 0.4.0
 */
import type amqp from "amqplib"
import { Effect, type Scope } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { ConnectorError, RecordError, RejectedError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import { durationMillis } from "../../WorkflowGraph.ts"
import * as Codecs from "../kit/codecs/index.ts"
import { brokerOf, checkWith, classify, CONNECT_TIMEOUT_MS, CONNECTOR, connection } from "./internal/client.ts"
import { type SinkConfig, SinkConfig as SinkConfigSchema } from "./RabbitmqConfig.ts"

const routingKeyOf = (config: SinkConfig) => {
  const rk = config.routing_key
  if (typeof rk === "string") return (): string | RecordError => rk
  return (record: unknown): string | RecordError => {
    const value = record !== null && typeof record === "object" ? (record as { readonly [k: string]: unknown })[rk.field] : undefined
    return typeof value === "string"
      ? value
      : new RecordError({ detail: `the routing key field '${rk.field}' is ${value === undefined ? "missing" : `not a string (${typeof value})`}`, field: rk.field, record })
  }
}

const openWriter = Effect.fnUntraced(function*(
  config: SinkConfig
): Effect.fn.Return<Connector.SinkWriter<unknown>, ConnectorError, Scope.Scope> {
  const broker = brokerOf(config.url)
  const codec = Codecs.byName(config.codec ?? "json")
  const persistent = config.persistent ?? true
  const routingKey = routingKeyOf(config)
  const conn = yield* connection(config.url, config.connect_timeout === undefined ? CONNECT_TIMEOUT_MS : durationMillis(config.connect_timeout))
  const channel: amqp.ConfirmChannel = yield* Effect.tryPromise({ try: () => conn.createConfirmChannel(), catch: classify("open", broker) })
  let failure: ConnectorError | undefined
  channel.on("error", (e: unknown) => void (failure ??= classify("write", broker)(e)))
  channel.on("close", () => void (failure ??= classify("write", broker)(new Error("the channel was closed"))))
  yield* Effect.addFinalizer(() => Effect.promise(() => channel.close().catch(() => undefined)))
  if (config.exchange !== "") {
    yield* Effect.tryPromise({ try: () => channel.checkExchange(config.exchange), catch: classify("open", broker) })
  }
  // set by the channel's events, read between writes
  const failed = (): ConnectorError | undefined => failure
  const drained = () => new Promise<void>((resolve) => channel.once("drain", () => resolve()))

  const writeBatch = (batch: Batch.Batch<unknown>): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> =>
    Effect.gen(function*() {
      const before = failed()
      if (before !== undefined) return yield* before
      const records = Batch.toArray(batch)
      let bytes = 0
      for (const record of records) {
        const key = routingKey(record)
        if (key instanceof RecordError) return yield* key
        const payload = codec.encode(record)
        if (Codecs.isEncodeError(payload)) return yield* payload.toRecordError()
        const body = Codecs.toBytes(payload)
        bytes += body.byteLength
        const ok = channel.publish(config.exchange, key, Buffer.from(body.buffer, body.byteOffset, body.byteLength), {
          persistent,
          contentType: codec.contentType
        })
        if (!ok) yield* Effect.promise(drained)
        const during = failed()
        if (during !== undefined) return yield* during
      }
      return { written: records.length, bytes }
    })

  const flush = Effect.tryPromise({
    try: () => channel.waitForConfirms(),
    catch: (e) =>
      failure ?? new ConnectorError({
        connector: CONNECTOR,
        operation: "flush",
        reason: new RejectedError({ message: `the broker refused a published message (nack) on exchange '${config.exchange}' (${broker})`, cause: e })
      })
  })
  return { writeBatch, flush }
})

/**
 * The `rabbitmq` sink definition.
 *
 * @example
 * ```yaml
 * destinations:
 *   out:
 *     type: rabbitmq
 *     inputs: [orders]
 *     config: { url: "${RABBITMQ_URL}", exchange: orders, routing_key: { field: region } }
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const RabbitmqSink: Connector.SinkDefinition<SinkConfig, unknown> = Connector.sink({
  type: CONNECTOR,
  description: "Publishes records to a RabbitMQ exchange with publisher confirms (at-least-once)",
  config: SinkConfigSchema,
  capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
  resources: (config) => ({
    writes: [{ kind: "rabbitmq-exchange", name: `${brokerOf(config.url)} ${config.exchange === "" ? "(default exchange)" : config.exchange}`, key: ["exchange"], shared: true }]
  }),
  check: (config) =>
    checkWith(config.url, config.connect_timeout === undefined ? CONNECT_TIMEOUT_MS : durationMillis(config.connect_timeout), (channel) =>
      config.exchange === "" ? undefined : channel.checkExchange(config.exchange)),
  open: (config) => openWriter(config)
})

/**
 * A typed DSL spec of the `rabbitmq` sink.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A = unknown>(config: typeof SinkConfigSchema.Encoded): Spec.SinkSpec<A> => Spec.sink<A>(CONNECTOR, config)
