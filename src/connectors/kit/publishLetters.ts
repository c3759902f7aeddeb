/**
 * Dead letters of message-broker sinks (`redis-streams`, `nats`, `rabbitmq`, `mqtt`): a record
 * the broker will never take — the codec cannot encode it, it is larger than the server's limit,
 * its topic / subject / routing-key field is missing or invalid, the broker refused that one
 * message (a publisher-confirm nack, an unroutable `mandatory` message, a JetStream publish error
 * about the message, an MQTT 5 PUBACK reason code) — is a {@link Refusal}. With `on_error:
 * dead_letter` it goes to the node's dead letters (`dead_letter: { path }` or `{ to }`, the kit's
 * {@link DeadLetter} envelope) and the other records are published; with `on_error: fail` (the
 * default) the run fails with a `RecordError` naming the record and the reason. Connection losses
 * and timeouts are not refusals: they stay the sink's retryable `ConnectorError`s.
 *
 * - {@link refuser}: what a sink does with its refusals (its config's `on_error`).
 * - {@link Unconfirmed}: the messages published and not yet confirmed by a broker that answers
 *   later (RabbitMQ confirms, MQTT PUBACKs), each with its record and the batch it came from, so
 *   that a refusal that arrives at `flush` is still set aside with its record and origin — and a
 *   checkpoint completes only once every message is confirmed or set aside.
 *
 * @since 0.5.0
 */
import { inspect } from "node:util"
import { Effect, Schema } from "effect"
import * as Batch from "../../Batch.ts"
import type * as Connector from "../../Connector.ts"
import { ConnectorError, RecordError, RejectedError } from "../../Errors.ts"
import type { Codec } from "./codecs/Codec.ts"
import * as Codecs from "./codecs/index.ts"
import * as DeadLetter from "./DeadLetter.ts"

/**
 * A record the broker will never take: why (`reason`), and what identifies the message
 * (`fields`: `{ subject }`, `{ reply_code }`, ...; with `source` / `position` when it was refused
 * after its batch was written).
 *
 * @category models
 * @since 0.5.0
 */
export interface Refusal {
  readonly record: unknown
  readonly reason: string
  readonly fields?: { readonly [key: string]: unknown }
}

/**
 * Handles refusals: dead letters, or the failure of the first one.
 *
 * @category models
 * @since 0.5.0
 */
export type Refuse = (refused: ReadonlyArray<Refusal>) => Effect.Effect<void, ConnectorError | RecordError>

/**
 * The {@link Refuse} of a sink: with `on_error: dead_letter`, the refusals go to the node's dead
 * letters (`deadLetterContext` first in each envelope: `{ stream }`, `{ exchange }`); otherwise
 * the first one fails the run with a `RecordError` naming the record and the reason.
 *
 * @category constructors
 * @since 0.5.0
 */
export const refuser = (options: {
  readonly connector: string
  readonly context: Connector.OpenContext
  readonly config: DeadLetter.ErrorHandling
  readonly deadLetterContext?: { readonly [key: string]: unknown }
}): Refuse => {
  const { config, connector, context } = options
  const letters = DeadLetter.ofNode({ connector, open: context, config, context: options.deadLetterContext })
  return (refused) => {
    if (refused.length === 0) return Effect.void
    if (letters === undefined) {
      const first = refused[0]
      return Effect.fail(new RecordError({ detail: `${connector}: ${first.reason}`, record: first.record }))
    }
    return letters(refused.map((r) => ({ record: r.record, error: r.reason, ...(r.fields !== undefined ? { fields: r.fields } : {}) })))
  }
}

/**
 * The payload bytes of a record, or its {@link Refusal}: the codec cannot encode it, or it is
 * larger than `limit` bytes (`what` names the limit: `the server's max_payload`).
 *
 * @category constructors
 * @since 0.5.0
 */
export const encode = (
  codec: Codec<unknown>,
  record: unknown,
  limit: { readonly bytes: number; readonly what: string } | undefined
): Uint8Array | Refusal => {
  const payload = codec.encode(record)
  if (Codecs.isEncodeError(payload)) return unencodable(record, codec.name, payload.detail)
  const body = Codecs.toBytes(payload)
  return limit !== undefined && body.byteLength > limit.bytes ? oversize(record, body.byteLength, limit) : body
}

/**
 * The {@link Refusal} of a record the codec cannot encode. A record without JSON text (a cycle)
 * could not be a dead letter's `record` either: the letter then holds its inspection (`{
 * unencodable }`, as `node:util` prints it).
 *
 * @category constructors
 * @since 0.5.0
 */
export const unencodable = (record: unknown, codec: string, detail: string): Refusal => {
  let letter: unknown = record
  try {
    Codecs.jsonText(record)
  } catch {
    letter = { unencodable: inspect(record, { depth: 4, breakLength: Number.POSITIVE_INFINITY }) }
  }
  return { record: letter, reason: `the ${codec} codec cannot encode the record: ${detail}` }
}

/**
 * The {@link Refusal} of a message of `bytes` bytes over a limit.
 *
 * @category constructors
 * @since 0.5.0
 */
export const oversize = (record: unknown, bytes: number, limit: { readonly bytes: number; readonly what: string }): Refusal => ({
  record,
  reason: `the message is ${bytes} bytes, larger than ${limit.what} (${limit.bytes} bytes)`,
  fields: { bytes, limit: limit.bytes }
})

/**
 * Where a record goes (`route`: its topic or routing key) and its payload bytes, or its
 * {@link Refusal} (no route, the codec cannot encode it, or the payload is over `limit`).
 *
 * @category constructors
 * @since 0.5.0
 */
export const message = (
  record: unknown,
  route: (record: unknown) => string | Refusal,
  codec: Codec<unknown>,
  limit?: { readonly bytes: number; readonly what: string }
): { readonly to: string; readonly body: Uint8Array } | Refusal => {
  const to = route(record)
  if (typeof to !== "string") return to
  const body = encode(codec, record, limit)
  return isRefusal(body) ? body : { to, body }
}

/**
 * The `writeBatch` of a broker sink that publishes one message per record: fails at once with a
 * failure the connection already reported (`failed`), then for each record takes its `message`
 * (routed, encoded, within the broker's limits — {@link message} and the sink's own checks) or
 * its refusal, and `publish`es it (the sink adds it to its {@link Unconfirmed} and waits for room
 * as its broker requires); at the end of the batch the refusals are handed to `refuse`. The
 * stats count the messages published and their payload bytes.
 *
 * @category constructors
 * @since 0.5.0
 */
export const publishEach = <M extends { readonly body: Uint8Array }>(options: {
  readonly failed: () => ConnectorError | undefined
  readonly refuse: Refuse
  readonly message: (record: unknown) => M | Refusal
  readonly publish: (record: unknown, message: M) => Effect.Effect<void, ConnectorError | RecordError>
}) =>
(batch: Batch.Batch<unknown>): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> =>
  Effect.gen(function*() {
    const before = options.failed()
    if (before !== undefined) return yield* before
    const refused: Array<Refusal> = []
    let bytes = 0
    let written = 0
    for (const record of Batch.toArray(batch)) {
      const m = options.message(record)
      if (isRefusal(m)) {
        refused.push(m)
        continue
      }
      bytes += m.body.byteLength
      written++
      yield* options.publish(record, m)
    }
    yield* options.refuse(refused)
    return { written, bytes }
  })

/** True for a {@link Refusal} (not a payload). */
export const isRefusal = (u: unknown): u is Refusal => u !== null && typeof u === "object" && "reason" in u && "record" in u

/**
 * The field of a record naming where it goes (topic, routing key, subject), or its
 * {@link Refusal}: missing, not a string, or refused by `valid` (which says why).
 *
 * @category constructors
 * @since 0.5.0
 */
export const routeOf = (
  record: unknown,
  field: string,
  what: string,
  valid?: (value: string) => string | undefined
): string | Refusal => {
  const value = record !== null && typeof record === "object" ? (record as { readonly [k: string]: unknown })[field] : undefined
  if (typeof value !== "string") {
    return { record, reason: `the ${what} field '${field}' is ${value === undefined ? "missing" : `not a string (${typeof value})`}`, fields: { field } }
  }
  const invalid = valid?.(value)
  return invalid === undefined ? value : { record, reason: `the ${what} field '${field}' is not a valid ${what} (${JSON.stringify(value)}): ${invalid}`, fields: { field } }
}

/**
 * A config key naming where a sink's records go: one `name` for every record (a topic, a routing
 * key), or `{ field }`: the record's field holding it (read by {@link router}).
 *
 * @category schemas
 * @since 0.5.0
 */
export const Route = <const Name extends Schema.Constraint>(name: Name, what: string, description: string) =>
  Schema.Union([
    name,
    Schema.Struct({ field: Schema.NonEmptyString.annotate({ description: `The record's field holding the ${what}` }) })
  ]).annotate({ description })

/**
 * Where each record goes, from a {@link Route} config value: the one name, or the record's field
 * ({@link routeOf}, with `what` and `valid`).
 *
 * @category constructors
 * @since 0.5.0
 */
export const router = (
  route: string | { readonly field: string },
  what: string,
  valid?: (value: string) => string | undefined
): (record: unknown) => string | Refusal => {
  if (typeof route === "string") return () => route
  return (record) => routeOf(record, route.field, what, valid)
}

/**
 * The outcome of one message from a broker that confirms later: `undefined` when confirmed, a
 * reason (and fields) when refused; a rejected promise is a failure of the connection (the run's
 * error, not the record's).
 *
 * @category models
 * @since 0.5.0
 */
export type Outcome = undefined | { readonly reason: string; readonly fields?: { readonly [key: string]: unknown } }

const currentOrigin = Effect.gen(function*() {
  return (yield* DeadLetter.CurrentWrite).origin
})

interface Entry {
  readonly record: unknown
  readonly origin: DeadLetter.CurrentWrite["origin"]
  readonly outcome: Promise<Outcome>
}

/**
 * Messages published and not yet confirmed, oldest first, each with its record and the origin of
 * its batch (`DeadLetter.CurrentWrite`, read when it is {@link add}ed), so that a refusal handled
 * later still names its source and position.
 *
 * @category models
 * @since 0.5.0
 */
export class Unconfirmed {
  private entries: Array<Entry> = []

  private readonly refuse: Refuse
  private readonly failure: (cause: unknown) => ConnectorError

  /** `failure`: a failure of the connection (a rejected outcome) as the run's error. */
  constructor(refuse: Refuse, failure: (cause: unknown) => ConnectorError) {
    this.refuse = refuse
    this.failure = failure
  }

  /** How many messages wait for their confirmation. */
  get size(): number {
    return this.entries.length
  }

  /** A message published: its record and its outcome (the origin is the current write's). */
  add(record: unknown, outcome: Promise<Outcome>): Effect.Effect<void> {
    // a failure is seen when the message is waited for; one never waited for (the sink closed
    // first: its checkpoint never completes) is no unhandled rejection
    outcome.catch(() => undefined)
    return Effect.map(currentOrigin, (origin) => void this.entries.push({ record, origin, outcome }))
  }

  /** Waits for the oldest message; a refusal is handled. */
  readonly oldest: Effect.Effect<void, ConnectorError | RecordError> = Effect.suspend(() => {
    const first = this.entries.shift()
    return first === undefined ? Effect.void : this.settle([first])
  })

  /** Waits for every message published so far; the refusals are handled (in publish order). */
  readonly all: Effect.Effect<void, ConnectorError | RecordError> = Effect.suspend(() => {
    const all = this.entries
    this.entries = []
    return this.settle(all)
  })

  /**
   * {@link all} as a writer's `flush` (which fails with a `ConnectorError` only): a refused record
   * with `on_error: fail` fails it as a rejection naming the record.
   */
  flush(connector: string): Effect.Effect<void, ConnectorError> {
    return Effect.mapError(this.all, (e) =>
      e instanceof RecordError
        ? new ConnectorError({ connector, operation: "flush", reason: new RejectedError({ message: e.message, cause: e }) })
        : e)
  }

  private settle(entries: ReadonlyArray<Entry>): Effect.Effect<void, ConnectorError | RecordError> {
    return Effect.tryPromise({ try: () => Promise.all(entries.map((e) => e.outcome)), catch: this.failure }).pipe(
      Effect.flatMap((outcomes) => {
        const refused: Array<Refusal> = []
        outcomes.forEach((o, i) => {
          if (o === undefined) return
          const origin = entries[i].origin
          refused.push({
            record: entries[i].record,
            reason: o.reason,
            fields: { ...(origin !== undefined ? { source: origin.source, position: origin.position } : {}), ...o.fields }
          })
        })
        return this.refuse(refused)
      })
    )
  }
}
