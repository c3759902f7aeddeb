/**
 * Encoding a batch for a sink that writes text (the file sinks, `stdout`) with `on_error`: a
 * record the codec cannot write (an {@link EncodeError}: a cycle, a CSV record that is not an
 * object) fails the write naming it and quoting it (`on_error: fail`, the default), or goes to the node's dead
 * letters (`on_error: dead_letter`, a file or a destination) while the other records of the
 * batch are written, in order.
 *
 * The good records are encoded once in the common case: a range is encoded whole, and only on a
 * failure are the records before the failing one encoded again (they were fine) and the rest
 * encoded on from after it.
 */
import { Effect } from "effect"
import type * as Connector from "../../../Connector.ts"
import { type ConnectorError, type Location, RecordError } from "../../../Errors.ts"
import { type Codec, EncodeError, type Payload } from "../codecs/Codec.ts"
import { jsonText } from "../codecs/json.ts"
import * as DeadLetter from "../DeadLetter.ts"

/** The text of records `[start, end)` and what the codec could not write, in order. */
export interface Encoded {
  readonly text: string
  readonly rejected: ReadonlyArray<EncodeError>
}

const textOf = (payload: Payload): string => (typeof payload === "string" ? payload : new TextDecoder().decode(payload))

/** Encodes `[start, end)`, leaving out each record the codec refuses (see the module doc). */
export const encodeSettingAside = (
  codec: Pick<Codec<unknown>, "encodeBatch">,
  records: ReadonlyArray<unknown>,
  start: number,
  end: number
): Encoded => {
  let text = ""
  const rejected: Array<EncodeError> = []
  let from = start
  while (from < end) {
    const out = codec.encodeBatch(records, from, end)
    if (!(out instanceof EncodeError)) {
      text += textOf(out)
      break
    }
    // an index outside [from, end) would loop forever: treat the range's first record as the bad one
    const at = out.index >= from && out.index < end ? out.index : from
    if (at > from) {
      const before = codec.encodeBatch(records, from, at)
      if (!(before instanceof EncodeError)) text += textOf(before)
    }
    rejected.push(out)
    from = at + 1
  }
  return { text, rejected }
}

/** The error of a record the codec refuses, quoting the record (cut where it holds itself). */
const failure = (e: EncodeError, location: Location | undefined): RecordError => {
  const error = e.toRecordError(location)
  const text = jsonText(DeadLetter.acyclic(e.record))
  return new RecordError({ ...error.fields(), detail: `${error.detail}; record: ${text.length > 500 ? `${text.slice(0, 500)}...` : text}` })
}

/**
 * How a text sink encodes a batch: the text to write, and how many records it holds. Fails with
 * the `RecordError` of the first record the codec refuses (`on_error: fail`), or sends those
 * records to the dead letters first (`on_error: dead_letter`).
 */
export type Encoder = (
  records: ReadonlyArray<unknown>,
  start: number,
  end: number
) => Effect.Effect<{ readonly text: string; readonly written: number }, ConnectorError | RecordError>

/**
 * The {@link Encoder} of a sink node: `config` its `on_error` / `dead_letter`, `location` where
 * it writes (`{ file }`, named by the error and each letter's `detail`).
 */
export const encoder = (options: {
  readonly connector: string
  readonly codec: Pick<Codec<unknown>, "encodeBatch">
  readonly config: DeadLetter.ErrorHandling
  readonly context: Pick<Connector.OpenContext, "node" | "onDeadLetters"> | undefined
  readonly location?: Location
  /** How `dead_letter: { path }` text is appended (see `DeadLetter.writer`). */
  readonly append?: ((text: string, max: number) => Effect.Effect<DeadLetter.Overflow | undefined, ConnectorError>) | undefined
}): Encoder => {
  const { codec, config, location } = options
  const letters = config.on_error === "dead_letter" && config.dead_letter !== undefined && options.context !== undefined
    ? DeadLetter.writer({
      connector: options.connector,
      node: options.context.node,
      config: config.dead_letter,
      ...(location?.file !== undefined ? { context: { file: location.file } } : {}),
      report: options.context.onDeadLetters,
      append: options.append
    })
    : undefined
  if (letters === undefined) {
    return (records, start, end) => {
      const out = codec.encodeBatch(records, start, end)
      return out instanceof EncodeError ? Effect.fail(failure(out, location)) : Effect.succeed({ text: textOf(out), written: end - start })
    }
  }
  return (records, start, end) =>
    Effect.suspend(() => {
      const { rejected, text } = encodeSettingAside(codec, records, start, end)
      const result = { text, written: end - start - rejected.length }
      if (rejected.length === 0) return Effect.succeed(result)
      return Effect.as(
        letters(rejected.map((e) => ({ record: e.record, error: e.toRecordError().detail, fields: { tag: e._tag } }))),
        result
      )
    })
}
