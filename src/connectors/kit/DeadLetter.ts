/**
 * Dead letters: records set aside instead of failing the run (`on_error: dead_letter`), one NDJSON
 * line per record in `dead_letter.path` — the same config and the same envelope for every
 * connector.
 *
 * Config ({@link ErrorHandlingFields}, spread into a connector's config Schema, checked by
 * {@link checkErrorHandling}): `on_error: fail | dead_letter` (default `fail`: the first rejected
 * record fails the run, named) and `dead_letter: { path, max_bytes }`. The file never grows past
 * `max_bytes` (default 1 GiB): an input rejected wholesale fails the run instead of filling the
 * disk quietly.
 *
 * The envelope: `{ ...context, node, at, ...fields, error, record }` — `context` names the
 * destination (`table`, `stream`, `subject`), `at` is the time (ISO-8601, from `Clock`), `fields`
 * what the destination said about the record (`sqlstate`), `error` why, `record` the record
 * (values written exactly, bytes as `"\\x..."`). Inside a run, a sink's entries also say where
 * the batch came from (`source`, `position`, from {@link CurrentWrite}). Entries are appended
 * before the batch after them is acknowledged, so after a restore an entry may be written again
 * (at-least-once) — unless the node keeps the file with its checkpoints (`writer`'s `append`: the
 * file sinks truncate it back with their output on a restore, exactly-once).
 *
 * A sink whose config spreads {@link SinkErrorHandlingFields} also takes `dead_letter: { to }`:
 * the same {@link writer} then hands {@link destinationEnvelope} records to the runtime, which
 * sends them to that destination of the workflow ahead of the checkpoint barrier — under the
 * destination's guarantee (exactly-once for postgres) instead of the file's at-least-once.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { DeadLetter } from "dataflare"
 *
 * const Config = Schema.Struct({ url: Schema.String, ...DeadLetter.ErrorHandlingFields })
 *   .check(Schema.makeFilter(DeadLetter.checkErrorHandling))
 * ```
 * @since 0.4.0
 */
import { Buffer } from "node:buffer"
import { appendFile, stat } from "node:fs/promises"
import { Clock, Context, Effect, Schema } from "effect"
import type { Resource } from "../../Connector.ts"
import { type ConnectorError, RecordError } from "../../Errors.ts"
import { fileError } from "../../internal/textFile.ts"
import { jsonText } from "./codecs/json.ts"

/**
 * The default of `dead_letter.max_bytes`: 1 GiB.
 *
 * @category constants
 * @since 0.4.0
 */
export const DEAD_LETTER_MAX_BYTES = 1024 * 1024 * 1024

/**
 * `dead_letter: { path, max_bytes }`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const DeadLetterConfig = Schema.Struct({
  path: Schema.NonEmptyString.annotate({ description: "NDJSON file where each record set aside is appended with its reason" }),
  max_bytes: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)).annotate({
    description: "The most bytes the dead-letter file may grow to; beyond, the run fails",
    default: 1024 * 1024 * 1024
  }))
}).annotate({ description: "Where on_error: dead_letter (or oversize: dead_letter) writes the records it sets aside" })

/**
 * @category schemas
 * @since 0.4.0
 */
export type DeadLetterConfig = typeof DeadLetterConfig.Type

/**
 * `dead_letter: { to }`: the records set aside go to a destination of the workflow (a sink node
 * id) as envelopes ({@link destinationEnvelope}), through the data flow ahead of the checkpoint
 * barrier, so that destination's guarantee covers them.
 *
 * @category schemas
 * @since 0.5.0
 */
export const DeadLetterDestination = Schema.Struct({
  to: Schema.NonEmptyString.annotate({ description: "The id of a destination of this workflow the records set aside go to, as envelopes" })
}).annotate({ description: "Where on_error: dead_letter sends the records it sets aside: a destination of the workflow" })

/**
 * @category schemas
 * @since 0.5.0
 */
export type DeadLetterDestination = typeof DeadLetterDestination.Type

/**
 * `dead_letter`: a file ({@link DeadLetterConfig}) or a destination ({@link DeadLetterDestination}).
 *
 * @category schemas
 * @since 0.5.0
 */
export const DeadLetterTarget = Schema.Union([DeadLetterConfig, DeadLetterDestination]).annotate({
  description: "With on_error: dead_letter, where refused records go: { path, max_bytes? } (an NDJSON file) or { to: <sink id> } (a destination of the workflow, which reads nothing else)"
})

/**
 * @category schemas
 * @since 0.5.0
 */
export type DeadLetterTarget = typeof DeadLetterTarget.Type

/**
 * `on_error: fail | dead_letter`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const OnError = Schema.Literals(["fail", "dead_letter"]).annotate({
  description: "A record that cannot be handled fails the run naming it, or goes with its reason to dead_letter (a file or a destination)",
  default: "fail"
})

/**
 * The config fields to spread into a connector's config Schema: `on_error` and `dead_letter`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const ErrorHandlingFields = {
  on_error: Schema.optionalKey(OnError),
  dead_letter: Schema.optionalKey(DeadLetterConfig)
} as const

/**
 * The config fields of a sink whose records set aside may also go to a destination of the
 * workflow: `on_error` and `dead_letter: { path, max_bytes } | { to }`. The sink hands its letters
 * to {@link writer} as with a file; the runtime sends them on (see {@link CurrentWrite}).
 *
 * @category schemas
 * @since 0.5.0
 */
export const SinkErrorHandlingFields = {
  on_error: Schema.optionalKey(OnError),
  dead_letter: Schema.optionalKey(DeadLetterTarget)
} as const

/**
 * The decoded `on_error` / `dead_letter` of a config.
 *
 * @category models
 * @since 0.4.0
 */
export interface ErrorHandling {
  readonly on_error?: "fail" | "dead_letter" | undefined
  readonly dead_letter?: DeadLetterConfig | DeadLetterDestination | undefined
}

/**
 * The filter refusing `on_error: dead_letter` without `dead_letter: { path }` (for
 * `Schema.makeFilter`, or called from a connector's own filter).
 *
 * @category schemas
 * @since 0.4.0
 */
export const checkErrorHandling = (c: ErrorHandling): { readonly path: ReadonlyArray<string>; readonly issue: string } | undefined =>
  c.on_error === "dead_letter" && c.dead_letter === undefined
    ? { path: ["dead_letter"], issue: "on_error: dead_letter needs dead_letter: { path }" }
    : undefined

/**
 * A source's config Schema: its own `fields`, then {@link ErrorHandlingFields} (`on_error`,
 * `dead_letter: { path, max_bytes }`), checked by {@link checkErrorHandling} — what every source
 * that sets undecodable messages aside declares. A connector with checks of its own spreads the
 * fields and calls {@link checkErrorHandling} from its filter instead.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { DeadLetter } from "dataflare"
 *
 * const SourceConfig = DeadLetter.withErrorHandling({ url: Schema.String, topic: Schema.String })
 * ```
 * @category schemas
 * @since 0.5.0
 */
export const withErrorHandling = <const Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.Struct({ ...fields, ...ErrorHandlingFields }).check(Schema.makeFilter((c: ErrorHandling) => checkErrorHandling(c)))

/**
 * A sink's config Schema: its own `fields`, then {@link SinkErrorHandlingFields} (`on_error`,
 * `dead_letter: { path, max_bytes } | { to }`), checked by {@link checkErrorHandling}. With
 * `on_error: fail` (the default) a record the destination will never take fails the run naming
 * it; with `dead_letter` it goes with the reason to `dead_letter: { path }` (NDJSON) or
 * `dead_letter: { to: <destination> }`, and the other records are written (a broker sink sets
 * them aside with the kit's `publishLetters`). The connector's docs list what it refuses.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { DeadLetter, Retry } from "dataflare"
 *
 * const SinkConfig = DeadLetter.withSinkErrorHandling({ url: Schema.String, ...Retry.RetryFields })
 * ```
 * @category schemas
 * @since 0.5.0
 */
export const withSinkErrorHandling = <const Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.Struct({ ...fields, ...SinkErrorHandlingFields }).check(Schema.makeFilter((c: ErrorHandling) => checkErrorHandling(c)))

/**
 * The dead-letter file as a resource the connector writes (for its definition's `resources`).
 *
 * @category resources
 * @since 0.4.0
 */
export const resources = (c: ErrorHandling): ReadonlyArray<Resource> =>
  c.dead_letter !== undefined && "path" in c.dead_letter ? [{ kind: "file", name: c.dead_letter.path, key: ["dead_letter", "path"] }] : []

/**
 * The file would grow past `max_bytes`: the text of the refusal (what to do) — each connector
 * fails with it in its own error.
 *
 * @category models
 * @since 0.4.0
 */
export interface Overflow {
  readonly _tag: "Overflow"
  readonly path: string
  readonly max: number
  readonly size: number
}

/**
 * Appends NDJSON `text` to the dead-letter file unless the file would grow past `max` bytes:
 * then nothing is appended and the {@link Overflow} is returned.
 *
 * @category writing
 * @since 0.4.0
 */
export const appendText = (connector: string, path: string, max: number, text: string): Effect.Effect<Overflow | undefined, ConnectorError> =>
  Effect.gen(function*() {
    const size = yield* Effect.tryPromise({
      try: () =>
        stat(path).then((s) => s.size, (e: unknown) => (e !== null && typeof e === "object" && "code" in e && e.code === "ENOENT" ? 0 : Promise.reject(e))),
      catch: (e) => fileError(connector, "dead_letter", path, e)
    })
    if (size + Buffer.byteLength(text, "utf8") > max) return { _tag: "Overflow", path, max, size } as const
    yield* Effect.tryPromise({ try: () => appendFile(path, text), catch: (e) => fileError(connector, "dead_letter", path, e) })
    return undefined
  })

/**
 * The sentence of an {@link Overflow}, naming the file, its limit and what it holds.
 *
 * @category writing
 * @since 0.4.0
 */
export const overflowText = (o: Overflow): string =>
  `the dead-letter file ${o.path} would grow past dead_letter.max_bytes (${o.max} bytes; it holds ${o.size})`

/**
 * A record set aside: the record, why (`error`), and what the destination said about it
 * (`fields`, e.g. `{ sqlstate }`).
 *
 * @category models
 * @since 0.4.0
 */
export interface Letter {
  readonly record: unknown
  readonly error: string
  readonly fields?: { readonly [key: string]: unknown }
}

/** True when `value` holds an object inside itself (JSON cannot write it). */
const hasCycle = (value: unknown, ancestors: Set<object>): boolean => {
  if (typeof value !== "object" || value === null || value instanceof Date || value instanceof Uint8Array) return false
  if (ancestors.has(value)) return true
  ancestors.add(value)
  for (const v of Object.values(value)) if (hasCycle(v, ancestors)) return true
  ancestors.delete(value)
  return false
}

/** A copy of `value` where each object found inside itself is the text `"[Circular]"`. */
const cut = (value: unknown, ancestors: Set<object>): unknown => {
  if (typeof value !== "object" || value === null || value instanceof Date || value instanceof Uint8Array) return value
  if (ancestors.has(value)) return "[Circular]"
  ancestors.add(value)
  const copy = Array.isArray(value)
    ? value.map((v) => cut(v, ancestors))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cut(v, ancestors)]))
  ancestors.delete(value)
  return copy
}

/**
 * The record of a letter as an envelope can hold it: the record itself, or — when it holds an
 * object inside itself, which no JSON writer can write (the reason a file sink sets it aside) — a
 * copy where each such object is the text `"[Circular]"`.
 *
 * @category constructors
 * @since 0.5.0
 */
export const acyclic = (record: unknown): unknown => (hasCycle(record, new Set()) ? cut(record, new Set()) : record)

/**
 * The envelope of one letter, as a dead-letter file line holds it and as a dead-letter
 * destination (`dead_letter: { to }`) receives it: `{ ...context, node, at, ...fields, error,
 * record }` (see the module doc).
 *
 * @category constructors
 * @since 0.5.0
 */
export const envelope = (
  node: string,
  at: string,
  letter: Letter,
  context?: { readonly [key: string]: unknown }
): { readonly [key: string]: unknown } => ({ ...context, node, at, ...letter.fields, error: letter.error, record: acyclic(letter.record) })

/**
 * The envelope of one letter as a destination (`dead_letter: { to }`) receives it: one shape for
 * every node, so that a table can hold them — `{ node, at, tag, source, position, error, detail,
 * record }`. `tag` is the error's tag (a processor's), `source` / `position` where the batch came
 * from, `detail` what else the node said (the sink's `table`, `sqlstate`, ...) or `null`.
 *
 * @category constructors
 * @since 0.5.0
 */
export const destinationEnvelope = (
  node: string,
  at: string,
  letter: Letter,
  context?: { readonly [key: string]: unknown }
): { readonly [key: string]: unknown } => {
  const { position, source, tag, ...rest } = letter.fields ?? {}
  const detail = { ...context, ...rest }
  return {
    node,
    at,
    tag: tag ?? null,
    source: source ?? null,
    position: position ?? null,
    error: letter.error,
    detail: Object.keys(detail).length > 0 ? detail : null,
    record: acyclic(letter.record)
  }
}

/**
 * What the runtime tells a dead-letter {@link writer} about the write it runs in: where the batch
 * came from (`origin`: its source node and position, added to each envelope that does not say
 * it), and how to send envelopes on to the destination of `dead_letter: { to }` (`send`,
 * `undefined` outside a run or once the destination can take no more). The default says nothing.
 *
 * @category services
 * @since 0.5.0
 */
export interface CurrentWrite {
  readonly origin: { readonly source: string; readonly position: unknown } | undefined
  readonly send: ((envelopes: ReadonlyArray<unknown>) => Effect.Effect<void, unknown>) | undefined
}

/**
 * The {@link CurrentWrite} of the running sink task (provided by the runtime around each write).
 *
 * @category services
 * @since 0.5.0
 */
export const CurrentWrite = Context.Reference<CurrentWrite>("dataflare/DeadLetter/CurrentWrite", {
  defaultValue: () => ({ origin: undefined, send: undefined })
})

/**
 * Appends letters to the file; on an overflow, appends nothing and fails with a `RecordError`
 * naming the file, its limit and the first letter (its record and reason) — see {@link writer}.
 *
 * @category models
 * @since 0.4.0
 */
export type Writer = (letters: ReadonlyArray<Letter>) => Effect.Effect<void, ConnectorError | RecordError>

/**
 * The dead-letter writer of a node: envelopes as the module doc says, `context` first; `report`
 * told how many were appended (`OpenContext.onDeadLetters`).
 *
 * @category constructors
 * @since 0.4.0
 */
export const writer = (options: {
  readonly connector: string
  readonly node: string
  readonly config: DeadLetterConfig | DeadLetterDestination
  readonly context?: { readonly [key: string]: unknown }
  /** What the overflow refusal starts with (default: the connector's name; e.g. the table). */
  readonly describe?: string
  readonly report?: ((count: number) => void) | undefined
  /**
   * How `dead_letter: { path }` text is appended (default {@link appendText}: to the file as it is
   * on disk). A file sink passes a file of its own checkpoints, so a restore takes its letters
   * back with its output.
   */
  readonly append?: ((text: string, max: number) => Effect.Effect<Overflow | undefined, ConnectorError>) | undefined
}): Writer => {
  const config = options.config
  if (!("path" in config)) return destinationWriter(options, config.to)
  const max = config.max_bytes ?? DEAD_LETTER_MAX_BYTES
  const append = options.append ?? ((text: string, limit: number) => appendText(options.connector, config.path, limit, text))
  return (letters) =>
    Effect.gen(function*() {
      if (letters.length === 0) return
      const at = new Date(yield* Clock.currentTimeMillis).toISOString()
      const origin = originFields((yield* CurrentWrite).origin)
      let text = ""
      for (const l of letters) {
        text += jsonText(envelope(options.node, at, origin === undefined ? l : { ...l, fields: { ...origin, ...l.fields } }, options.context)) + "\n"
      }
      const overflow = yield* append(text, max)
      if (overflow !== undefined) {
        return yield* new RecordError({
          detail: `${options.describe ?? options.connector}: ${
            overflowText(overflow)
          }: so many records are rejected that the input or the destination is probably wrong; fix that, or raise dead_letter.max_bytes. First record not set aside: ${
            letters[0].error
          }`,
          record: letters[0].record
        })
      }
      options.report?.(letters.length)
    })
}

/**
 * The dead-letter {@link writer} of a node whose config says `on_error: dead_letter` (with
 * `dead_letter`), else `undefined` (`on_error: fail`): the one of a sink, told the node and the
 * count callback by its open context; `context` first in each envelope.
 *
 * @category constructors
 * @since 0.5.0
 */
export const ofNode = (options: {
  readonly connector: string
  readonly open: { readonly node: string; readonly onDeadLetters?: ((count: number) => void) | undefined }
  readonly config: ErrorHandling
  readonly context?: { readonly [key: string]: unknown } | undefined
}): Writer | undefined =>
  options.config.on_error === "dead_letter" && options.config.dead_letter !== undefined
    ? writer({
      connector: options.connector,
      node: options.open.node,
      config: options.config.dead_letter,
      ...(options.context !== undefined ? { context: options.context } : {}),
      report: options.open.onDeadLetters
    })
    : undefined

/** `{ source, position }` of a batch's origin, for a letter that does not say where it came from. */
const originFields = (origin: CurrentWrite["origin"]): { readonly source: string; readonly position: unknown } | undefined =>
  origin === undefined ? undefined : { source: origin.source, position: origin.position }

/** The writer of `dead_letter: { to }`: envelopes handed to the runtime's {@link CurrentWrite}. */
const destinationWriter = (
  options: { readonly connector: string; readonly node: string; readonly context?: { readonly [key: string]: unknown }; readonly describe?: string; readonly report?: ((count: number) => void) | undefined },
  to: string
): Writer =>
(letters) =>
  Effect.gen(function*() {
    if (letters.length === 0) return
    const current = yield* CurrentWrite
    if (current.send === undefined) {
      return yield* new RecordError({
        detail: `${options.describe ?? options.connector}: a record was set aside outside a batch write (e.g. when a checkpoint was committed), where it cannot travel to the destination '${to}' (dead_letter.to) ahead of the checkpoint; set dead_letter: { path } for this node. The record's error: ${letters[0].error}`,
        record: letters[0].record
      })
    }
    const at = new Date(yield* Clock.currentTimeMillis).toISOString()
    const origin = originFields(current.origin)
    const envelopes = letters.map((l) => destinationEnvelope(options.node, at, origin === undefined ? l : { ...l, fields: { ...origin, ...l.fields } }, options.context))
    yield* Effect.mapError(current.send(envelopes), (cause) =>
      cause instanceof RecordError ? cause : new RecordError({ detail: `${options.describe ?? options.connector}: the dead letters could not be sent to '${to}': ${String(cause)}`, record: letters[0].record }))
    options.report?.(letters.length)
  })
