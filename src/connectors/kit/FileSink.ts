/**
 * A file sink built from parts: an exactly-once output file (`internal/sinkFile.ts`: appends at a
 * tracked length, a checkpoint journal beside it, truncation back to a checkpoint on restore)
 * and a {@link Codec} formatting each batch. The `ndjson` and `csv` sinks are this with their
 * codec; a new file format is a codec.
 *
 * The file is started afresh at the first write of a new run. A codec that writes a header (the
 * `csv` codec, with `header`) writes it first in an empty file — also for a run that writes no
 * record, at `flush` — and its columns are kept with each checkpoint, so a restored run writes
 * the same columns. A record the codec cannot write (a cycle; in CSV, a record that is not an
 * object) fails with a `RecordError` naming the file and the record, or — with `errors`
 * `on_error: dead_letter` — goes to the node's dead letters (`dead_letter: { path }` or `{ to }`,
 * the kit's {@link DeadLetter} writer, `detail` `{ file }`) while the rest of the batch is written.
 * A dead-letter file (`{ path }`) is then kept like the output: started afresh with it, recorded
 * in its own journal at each checkpoint and truncated back on restore, so after a restore each
 * record set aside is in it once (exactly-once, as the output; `{ to }` gets the destination's
 * guarantee).
 * `flush` fsyncs the file. With the `ndjson` codec, a batch that carries its records as NDJSON
 * (`Batch.NdjsonEncoded`, encoded by a parallel source's threads) is written as those bytes, and so
 * are CSV rows (`Batch.CsvRowsEncoded`) written for the `csv` codec's columns.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Codecs, Connector, FileSink } from "dataflare"
 *
 * const open = (path: string) => FileSink.open({ connector: "lines", path, codec: Codecs.ndjson() })
 * ```
 * @since 0.4.0
 */
import { Buffer } from "node:buffer"
import { access, constants } from "node:fs/promises"
import { dirname } from "node:path"
import { Effect, type Scope } from "effect"
import * as Batch from "../../Batch.ts"
import type * as Connector from "../../Connector.ts"
import type { ConnectorError, RecordError } from "../../Errors.ts"
import { openSinkFile, type SinkFile } from "../../internal/sinkFile.ts"
import { fileError } from "../../internal/textFile.ts"
import type { Codec } from "./codecs/Codec.ts"
import type { CsvCodec } from "./codecs/csv.ts"
import type * as DeadLetter from "./DeadLetter.ts"
import { encoder } from "./internal/encodeLetters.ts"

/**
 * What {@link open} needs: the connector's name (for errors), the path, the codec, and whether a
 * codec with a header (`csv`) writes it.
 *
 * @category models
 * @since 0.4.0
 */
export interface FileSinkOptions {
  readonly connector: string
  readonly path: string
  readonly codec: Codec<unknown> | CsvCodec
  /** Write the codec's header line first in an empty file (default true; `csv` only). */
  readonly header?: boolean
  /** The sink's `on_error` / `dead_letter` (default: a record the codec cannot write fails the write). */
  readonly errors?: DeadLetter.ErrorHandling
  /** The node's open context (its id and dead-letter count, for `on_error: dead_letter`). */
  readonly context?: Connector.OpenContext
}

/** Appends dead-letter text to the sink's own dead-letter file unless it would grow past `max` bytes. */
const appendTo = (letters: SinkFile, path: string) => (text: string, max: number): Effect.Effect<DeadLetter.Overflow | undefined, ConnectorError> =>
  Effect.suspend(() => {
    const size = letters.length()
    if (size + Buffer.byteLength(text, "utf8") > max) return Effect.succeed({ _tag: "Overflow", path, max, size } as const)
    return Effect.as(letters.write(text), undefined)
  })

/** Whether two column lists are the same names in the same order. */
const sameColumns = (a: ReadonlyArray<string> | undefined, b: ReadonlyArray<string>): boolean => {
  if (a === undefined || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const isCsv = (codec: Codec<unknown> | CsvCodec): codec is CsvCodec => "header" in codec && typeof codec.header === "function"

/**
 * `check` of a file sink: the directory of `path` exists and is writable.
 *
 * @category constructors
 * @since 0.4.0
 */
export const check = (connector: string, path: string): Effect.Effect<void, ConnectorError> =>
  Effect.tryPromise({
    try: () => access(dirname(path), constants.W_OK),
    catch: (e) => fileError(connector, "check", dirname(path), e)
  })

/**
 * Opens the file in the current scope and returns an exactly-once writer (`preCommit`, `restore`).
 *
 * @category constructors
 * @since 0.4.0
 */
export const open = (options: FileSinkOptions): Effect.Effect<Connector.SinkWriter<unknown>, ConnectorError, Scope.Scope> =>
  Effect.gen(function*() {
    const { codec, path } = options
    const csv = isCsv(codec) ? codec : undefined
    const header = csv !== undefined && options.header !== false
    const file = yield* openSinkFile(options.connector, path)
    // `dead_letter: { path }` with on_error: dead_letter: a file of the same checkpoints as the output
    const target = options.errors?.on_error === "dead_letter" ? options.errors.dead_letter : undefined
    const letters = target !== undefined && "path" in target ? yield* openSinkFile(options.connector, target.path) : undefined
    const startOne = (f: SinkFile) => Effect.suspend(() => (f.started() ? Effect.void : Effect.asVoid(f.restore(undefined))))
    const start = letters === undefined ? startOne(file) : Effect.andThen(startOne(file), startOne(letters))
    const headerIfEmpty = Effect.suspend(() =>
      header && csv?.columns() !== undefined && file.length() === 0 ? Effect.asVoid(file.write(csv.header())) : Effect.void
    )
    const flush = Effect.andThen(Effect.andThen(start, headerIfEmpty), letters === undefined ? file.sync : Effect.andThen(letters.sync, file.sync))
    const encode = encoder({
      connector: options.connector,
      codec,
      config: options.errors ?? {},
      context: options.context,
      location: { file: path },
      ...(letters !== undefined && target !== undefined && "path" in target ? { append: appendTo(letters, target.path) } : {})
    })
    const writer: Connector.SinkWriter<unknown> = {
      writeBatch: (batch) =>
        Effect.andThen(
          start,
          Effect.suspend((): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> => {
            const size = Batch.size(batch)
            if (size === 0) return Effect.succeed({ written: 0 })
            const encoded = Batch.encodedOf(batch)
            if (encoded?.format === "application/x-ndjson" && codec.name === "ndjson") {
              // NDJSON a source's threads encoded as this codec does: written as it is
              return Effect.map(file.write(encoded.bytes), (bytes) => ({ written: size, bytes }))
            }
            if (encoded?.format === "application/x-csv-rows" && csv !== undefined && encoded.delimiter === csv.delimiter) {
              // CSV rows a source's threads wrote as this codec does, for the columns of the batch's
              // first record: this codec's columns when it has them, or when this is its first record
              if (csv.columns() === undefined) csv.useColumns(encoded.columns)
              if (sameColumns(csv.columns(), encoded.columns)) {
                const head = header && file.length() === 0 ? file.write(csv.header()) : Effect.succeed(0)
                return Effect.flatMap(head, (h) => Effect.map(file.write(encoded.bytes), (bytes) => ({ written: size, bytes: h + bytes })))
              }
            }
            return Effect.flatMap(encode(batch.records, batch.start, batch.end), ({ text, written }) => {
              // the csv codec fixed its columns from the first record it could write
              const out = header && file.length() === 0 && csv?.columns() !== undefined ? csv.header() + text : text
              return out.length === 0 ? Effect.succeed({ written }) : Effect.map(file.write(out), (bytes) => ({ written, bytes }))
            })
          })
        ),
      flush,
      preCommit: (id) =>
        Effect.andThen(
          flush,
          Effect.suspend(() =>
            Effect.andThen(
              letters === undefined ? Effect.void : letters.preCommit(id),
              file.preCommit(id, csv !== undefined ? { columns: csv.columns() ?? null } : undefined)
            )
          )
        ),
      restore: (id) =>
        Effect.map(Effect.andThen(letters === undefined ? Effect.void : letters.restore(id), file.restore(id)), (meta) => {
          if (id === undefined || csv === undefined || typeof meta !== "object" || meta === null) return
          const saved = (meta as { readonly columns?: unknown }).columns
          if (Array.isArray(saved)) csv.useColumns(saved.map(String))
        })
    }
    return writer
  })
