/**
 * The `csv` sink: writes records as RFC 4180 lines, one write per batch.
 *
 * The file is started afresh at the first write of a new run. The columns are the keys of `columns`
 * in order when given, else the keys of the first record (fields of later records that are not
 * among them are not written; a missing field is written empty). A header line comes first
 * unless `header: false`. Fields are quoted only when needed; `null` becomes an empty field, a
 * `Date` its ISO-8601 text, an object its JSON text (see {@link CsvFormat}). Lines end with LF.
 * `flush` fsyncs the file. Guarantee: exactly-once — each checkpoint records the file's length
 * in a journal next to it (`.<name>.checkpoints`), and a restore truncates the file back to the
 * length of the restored checkpoint before the records after it are written again. One file:
 * the sink declares `maxParallelism: 1` (the workflow's default parallelism does not apply to it;
 * an explicit larger one is refused by `validate`).
 *
 * @since 0.1.0
 */
import { access, constants } from "node:fs/promises"
import { dirname } from "node:path"
import { Effect } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import type { ConnectorError, RecordError } from "../../Errors.ts"
import { CsvConfig } from "./CsvConfig.ts"
import * as CsvFormat from "./CsvFormat.ts"
import { openSinkFile } from "../../internal/sinkFile.ts"
import { fileError } from "../../internal/textFile.ts"

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
  // one file, written by one instance
  capabilities: () => ({ guarantee: "exactly-once", transactional: false, maxParallelism: 1 }),
  resources: (config) => ({ writes: [{ kind: "file", name: config.path, key: ["path"] }] }),
  check: (config) =>
    Effect.tryPromise({
      try: () => access(dirname(config.path), constants.W_OK),
      catch: (e) => fileError(CONNECTOR, "check", dirname(config.path), e)
    }),
  open: (config) =>
    Effect.gen(function*() {
      const path = config.path
      const delimiter = config.delimiter ?? ","
      const header = config.header !== false
      const file = yield* openSinkFile(CONNECTOR, path)
      let columns: ReadonlyArray<string> | undefined = config.columns !== undefined
        ? Object.keys(config.columns)
        : undefined
      const start = Effect.suspend(() => file.started() ? Effect.void : Effect.asVoid(file.restore(undefined)))
      const headerIfEmpty = Effect.suspend(() =>
        header && columns !== undefined && file.length() === 0
          ? Effect.asVoid(file.write(CsvFormat.formatHeader(columns, delimiter)))
          : Effect.void
      )
      const flush = Effect.andThen(Effect.andThen(start, headerIfEmpty), file.sync)
      const writer: Connector.SinkWriter<unknown> = {
        writeBatch: (batch) =>
          Effect.andThen(
            start,
            Effect.suspend((): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> => {
              const size = Batch.size(batch)
              if (size === 0) return Effect.succeed({ written: 0 })
              if (columns === undefined) {
                const first = Batch.get(batch, 0)
                columns = typeof first === "object" && first !== null ? Object.keys(first) : []
              }
              const text = (header && file.length() === 0 ? CsvFormat.formatHeader(columns, delimiter) : "") +
                CsvFormat.formatRows(batch.records, batch.start, batch.end, columns, delimiter)
              return Effect.map(file.write(text), (bytes) => ({ written: size, bytes }))
            })
          ),
        flush,
        preCommit: (id) => Effect.andThen(flush, Effect.suspend(() => file.preCommit(id, { columns: columns ?? null }))),
        restore: (id) =>
          Effect.map(file.restore(id), (meta) => {
            if (id === undefined || typeof meta !== "object" || meta === null) return
            const saved = (meta as { readonly columns?: unknown }).columns
            if (Array.isArray(saved)) columns = saved.map(String)
          })
      }
      return writer
    })
})
