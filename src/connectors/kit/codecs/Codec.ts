/**
 * Codecs: how a record becomes the bytes or text of a message or a file, and back — separate
 * from the transport that carries them (a file, standard output, a broker message), so every
 * connector reading or writing JSON, NDJSON, CSV or raw payloads formats them one way.
 *
 * A {@link Codec} encodes one record (one message) or a range of a batch (one write of a file
 * sink), and decodes one payload. Neither throws nor allocates an Effect per record: a record it
 * cannot encode gives an {@link EncodeError} naming the record, a payload it cannot decode a
 * {@link DecodeError} naming where the payload came from (the message id, or the file and line),
 * so the connector can fail naming it or set it aside as a dead letter.
 *
 * @example
 * ```ts
 * import { Codecs } from "dataflare"
 *
 * const codec = Codecs.json()
 * const payload = codec.encode({ id: 1n })          // '{"id":1}'
 * const back = codec.decode(payload, { id: "orders-1700000000-0" })
 * if (Codecs.isDecodeError(back)) console.log(back.message)
 * ```
 * @since 0.4.0
 */
import { Buffer } from "node:buffer"
import { Schema } from "effect"
import { escapeControl, Location, RecordError } from "../../../Errors.ts"

/**
 * What a codec produces and reads: text, or bytes.
 *
 * @category models
 * @since 0.4.0
 */
export type Payload = string | Uint8Array

/**
 * Where a payload came from, for the error of a payload that does not decode: a broker's
 * message id (a stream entry id, a sequence number, a delivery tag), and/or a place in a file.
 *
 * @category models
 * @since 0.4.0
 */
export interface Origin {
  /** The message id or position, as the broker spells it. */
  readonly id?: string
  /** A place in a file (`file`, `line`). */
  readonly location?: Location
}

/**
 * A payload that is not what the codec reads: `codec` names the codec, `at` the message id or
 * position, `location` the place in a file, `detail` what is wrong. `toRecordError` gives the
 * `RecordError` a source fails with (or sets aside).
 *
 * @category errors
 * @since 0.4.0
 */
export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  codec: Schema.String,
  detail: Schema.String,
  at: Schema.optional(Schema.String),
  location: Schema.optional(Location),
  field: Schema.optional(Schema.String),
  /** The start of the payload (at most 200 characters), to find it again. */
  head: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return escapeControl(`${this.at !== undefined ? `message ${this.at}: ` : ""}not ${this.codec}: ${this.detail}`)
  }
  /** The `RecordError` of this payload (its head as the record). */
  toRecordError(): RecordError {
    return new RecordError({
      detail: `${this.at !== undefined ? `message ${this.at}: ` : ""}not ${this.codec}: ${this.detail}`,
      ...(this.location !== undefined ? { location: this.location } : {}),
      ...(this.field !== undefined ? { field: this.field } : {}),
      ...(this.head !== undefined ? { record: this.head } : {})
    })
  }
}

/**
 * A record the codec cannot write (a cycle, a value the format has no form for): `index` is its
 * place in the records given, `record` the record.
 *
 * @category errors
 * @since 0.4.0
 */
export class EncodeError extends Schema.TaggedError<EncodeError>()("EncodeError", {
  codec: Schema.String,
  detail: Schema.String,
  index: Schema.Number,
  record: Schema.optional(Schema.Unknown)
}) {
  override get message(): string {
    return escapeControl(`cannot write the record as ${this.codec}: ${this.detail}`)
  }
  /** The `RecordError` of this record (`location` when the sink writes a file). */
  toRecordError(location?: Location): RecordError {
    return new RecordError({
      detail: `cannot write the record as ${this.codec === "ndjson" ? "JSON" : this.codec}: ${this.detail}`,
      ...(location !== undefined ? { location } : {}),
      record: this.record
    })
  }
}

/**
 * A codec. `A` is the record type it writes and reads.
 *
 * - `encode(record)`: the payload of one message holding the record.
 * - `encodeBatch(records, start, end)`: records `[start, end)` as one payload (one write of a
 *   file sink: NDJSON lines, CSV lines, a JSON array).
 * - `decode(payload, origin)`: the record of one message.
 * - `decodeAll(payload, origin)`: every record of a payload holding several (NDJSON lines, CSV
 *   lines; one for the others).
 *
 * @category models
 * @since 0.4.0
 */
export interface Codec<A = unknown> {
  /** The codec's name, as configs spell it (`json`, `ndjson`, `csv`, `bytes`, `string`). */
  readonly name: string
  /** The MIME type of its payloads (a message's content type). */
  readonly contentType: string
  readonly encode: (record: A) => Payload | EncodeError
  readonly encodeBatch: (records: ReadonlyArray<A>, start: number, end: number) => Payload | EncodeError
  readonly decode: (payload: Payload, origin?: Origin) => A | DecodeError
  readonly decodeAll: (payload: Payload, origin?: Origin) => ReadonlyArray<A> | DecodeError
}

/**
 * True for a {@link DecodeError} (what `decode` returns for a payload it cannot read).
 *
 * @category guards
 * @since 0.4.0
 */
export const isDecodeError = (u: unknown): u is DecodeError => u instanceof DecodeError

/**
 * True for an {@link EncodeError} (what `encode` returns for a record it cannot write).
 *
 * @category guards
 * @since 0.4.0
 */
export const isEncodeError = (u: unknown): u is EncodeError => u instanceof EncodeError

/**
 * A payload as bytes (text in UTF-8).
 *
 * @category payloads
 * @since 0.4.0
 */
export const toBytes = (payload: Payload): Uint8Array => (typeof payload === "string" ? Buffer.from(payload, "utf8") : payload)

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/**
 * A payload as text: bytes decoded as UTF-8, `undefined` when they are not valid UTF-8 (never
 * replaced silently).
 *
 * @category payloads
 * @since 0.4.0
 */
export const toText = (payload: Payload): string | undefined => {
  if (typeof payload === "string") return payload
  try {
    return fatal.decode(payload)
  } catch {
    return undefined
  }
}

/**
 * The first characters of a payload (at most `max`), for an error or a dead letter.
 *
 * @category payloads
 * @since 0.4.0
 */
export const headOf = (payload: Payload, max = 200): string => {
  const text = typeof payload === "string" ? payload.slice(0, max) : Buffer.from(payload.subarray(0, max * 4)).toString("utf8").slice(0, max)
  return text
}

/**
 * The {@link DecodeError} of a codec for a payload from `origin`.
 *
 * @category constructors
 * @since 0.4.0
 */
export const decodeError = (
  codec: string,
  detail: string,
  payload: Payload,
  origin: Origin | undefined,
  extra?: { readonly location?: Location; readonly field?: string | undefined }
): DecodeError => {
  const location = extra?.location ?? origin?.location
  return new DecodeError({
    codec,
    detail,
    head: headOf(payload),
    ...(origin?.id !== undefined ? { at: origin.id } : {}),
    ...(location !== undefined ? { location } : {}),
    ...(extra?.field !== undefined ? { field: extra.field } : {})
  })
}

/**
 * The `decode` of a codec whose payloads may hold several records (NDJSON, CSV): the one record
 * `decodeAll` finds, or a {@link DecodeError} when it finds another number of them (`unit`: what a
 * record is called in the message, "line" or "record").
 *
 * @category constructors
 * @since 0.4.0
 */
export const singleOf = <A>(
  codec: string,
  unit: string,
  decodeAll: (payload: Payload, origin?: Origin) => ReadonlyArray<A> | DecodeError
) =>
(payload: Payload, origin?: Origin): A | DecodeError => {
  const all = decodeAll(payload, origin)
  if (all instanceof DecodeError) return all
  if (all.length !== 1) return decodeError(codec, `expected one ${unit}, found ${all.length}`, payload, origin)
  return all[0]
}

/** The message of a thrown value. */
export const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))
