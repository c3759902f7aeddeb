/**
 * The `csv` sink: writes records as RFC 4180 lines, one write per batch.
 *
 * The file is created or truncated when the sink opens. The columns are the keys of `columns`
 * in order when given, else the keys of the first record (fields of later records that are not
 * among them are not written; a missing field is written empty). A header line comes first
 * unless `header: false`. Fields are quoted only when needed; `null` becomes an empty field, a
 * `Date` its ISO-8601 text, an object its JSON text (see {@link CsvFormat}). Lines end with LF.
 * `flush` fsyncs the file. Guarantee: at-least-once (after a restore, records written since the
 * last checkpoint are written again).
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { access, constants, type FileHandle, open } from "node:fs/promises"
import { dirname } from "node:path"
import { Effect } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import type { ConnectorError, RecordError } from "../../Errors.ts"
import { CsvConfig } from "./CsvConfig.ts"
import * as CsvFormat from "./CsvFormat.ts"
import { fileError } from "./internal/textFile.ts"

const CONNECTOR = "csv"

/**
 * The `csv` sink definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const CsvSink: Connector.SinkDefinition<CsvConfig, unknown> = Connector.sink({
  type: CONNECTOR,
  description: "Writes records as RFC 4180 CSV lines, with a header row",
  config: CsvConfig,
  capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
  check: (config) =>
    Effect.tryPromise({
      try: () => access(dirname(config.path), constants.W_OK),
      catch: (e) => fileError(CONNECTOR, "check", dirname(config.path), e)
    }),
  open: (config) =>
    Effect.gen(function*() {
      const path = config.path
      const delimiter = config.delimiter ?? ","
      const handle: FileHandle = yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => open(path, "w"), catch: (e) => fileError(CONNECTOR, "open", path, e) }),
        (h) => Effect.promise(() => h.close()).pipe(Effect.ignore)
      )
      const write = (text: string) => {
        const bytes = Buffer.from(text, "utf8")
        return Effect.tryPromise({
          try: () => handle.writeFile(bytes),
          catch: (e) => fileError(CONNECTOR, "write", path, e)
        }).pipe(Effect.as(bytes.length))
      }
      let columns: ReadonlyArray<string> | undefined = config.columns !== undefined
        ? Object.keys(config.columns)
        : undefined
      if (columns !== undefined && config.header !== false) yield* write(CsvFormat.formatHeader(columns, delimiter))
      const writer: Connector.SinkWriter<unknown> = {
        writeBatch: (batch) =>
          Effect.suspend((): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> => {
            const size = Batch.size(batch)
            if (size === 0) return Effect.succeed({ written: 0 })
            let text = ""
            if (columns === undefined) {
              const first = Batch.get(batch, 0)
              columns = typeof first === "object" && first !== null ? Object.keys(first) : []
              if (config.header !== false) text = CsvFormat.formatHeader(columns, delimiter)
            }
            text += CsvFormat.formatRows(batch.records, batch.start, batch.end, columns, delimiter)
            return Effect.map(write(text), (bytes) => ({ written: size, bytes }))
          }),
        flush: Effect.tryPromise({
          try: () => handle.sync(),
          catch: (e) => fileError(CONNECTOR, "flush", path, e)
        })
      }
      return writer
    })
})
