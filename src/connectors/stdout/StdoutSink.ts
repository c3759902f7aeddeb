/**
 * The `stdout` sink: writes records to the process's standard output, one write per batch —
 * NDJSON lines (`format: ndjson`, the default) or CSV with a header taken from the first
 * record's keys (`format: csv`). A write waits until the stream accepted the data, so a slow
 * reader of the pipe slows the workflow down instead of filling memory.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { ConnectionError, ConnectorError, type RecordError } from "../../Errors.ts"
import { EncodeError } from "../kit/codecs/Codec.ts"
import { csv } from "../kit/codecs/csv.ts"
import { ndjson } from "../kit/codecs/json.ts"

/**
 * The `stdout` sink config: `format`, `ndjson` (default) or `csv`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const StdoutConfig = Schema.Struct({
  format: Schema.optionalKey(Schema.Literals(["ndjson", "csv"]).annotate({
    description: "ndjson: one JSON object a line; csv: a header from the first record's keys, then its lines",
    default: "ndjson"
  }))
})

/**
 * @category models
 * @since 0.1.0
 */
export type StdoutConfig = typeof StdoutConfig.Type

/**
 * Where the sink writes: `process.stdout`, or a stream given in tests.
 *
 * @category models
 * @since 0.1.0
 */
export interface Output {
  write(chunk: string, callback: (error?: Error | null) => void): boolean
}

/**
 * A writer of the given format to `output`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeWriter = (format: "ndjson" | "csv", output: Output): Connector.SinkWriter<unknown> => {
  const csvCodec = format === "csv" ? csv() : undefined
  const lines = ndjson()
  const write = (text: string) =>
    Effect.callback<void, ConnectorError>((resume) => {
      output.write(text, (error) =>
        resume(
          error === undefined || error === null ? Effect.void : Effect.fail(
            new ConnectorError({
              connector: "stdout",
              operation: "write",
              reason: new ConnectionError({ message: error.message, cause: error })
            })
          )
        ))
    })
  return {
    writeBatch: (batch) =>
      Effect.suspend((): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> => {
        const size = Batch.size(batch)
        if (size === 0) return Effect.succeed({ written: 0 })
        let text: string
        if (csvCodec !== undefined) {
          const fresh = csvCodec.columns() === undefined
          csvCodec.columnsFrom(Batch.get(batch, 0))
          text = (fresh ? csvCodec.header() : "") + String(csvCodec.encodeBatch(batch.records, batch.start, batch.end))
        } else {
          const formatted = lines.encodeBatch(batch.records, batch.start, batch.end)
          if (formatted instanceof EncodeError) return Effect.fail(formatted.toRecordError())
          text = String(formatted)
        }
        return Effect.as(write(text), { written: size })
      }),
    flush: Effect.void
  }
}

/**
 * The `stdout` sink definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const StdoutSink: Connector.SinkDefinition<StdoutConfig, unknown> = Connector.sink({
  type: "stdout",
  description: "Writes records to standard output as NDJSON (default) or CSV",
  config: StdoutConfig,
  // one stream: instances would interleave their lines (and each write its own CSV header)
  capabilities: () => ({ guarantee: "at-least-once", transactional: false, maxParallelism: 1 }),
  check: () => Effect.void,
  open: (config) => Effect.sync(() => makeWriter(config.format ?? "ndjson", process.stdout))
})
