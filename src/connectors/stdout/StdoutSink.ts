/**
 * The `stdout` sink: writes records to the process's standard output, one write per batch —
 * NDJSON lines (`format: ndjson`, the default) or CSV with a header taken from the first
 * record's keys (`format: csv`). A write waits until the stream accepted the data, so a slow
 * reader of the pipe slows the workflow down instead of filling memory. A record it cannot write
 * (a cycle; in CSV, a record that is not an object) fails the run naming the node and the record
 * (`on_error: fail`, the default), or goes to `dead_letter: { path }` or `{ to }` while the rest of
 * its batch is written (`on_error: dead_letter`).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { ConnectionError, ConnectorError, type RecordError } from "../../Errors.ts"
import { csv } from "../kit/codecs/csv.ts"
import { ndjson } from "../kit/codecs/json.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import { encoder } from "../kit/internal/encodeLetters.ts"

/**
 * The `stdout` sink config: `format`, `ndjson` (default) or `csv`; `on_error: fail | dead_letter`
 * and `dead_letter: { path } | { to }` for the records it cannot write.
 *
 * @category schemas
 * @since 0.1.0
 */
export const StdoutConfig = DeadLetter.withSinkErrorHandling({
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
 * A writer of the given format to `output`; with `errors` (`on_error: dead_letter`) and the
 * node's `context`, the records it cannot write go to the node's dead letters.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeWriter = (
  format: "ndjson" | "csv",
  output: Output,
  errors?: DeadLetter.ErrorHandling,
  context?: Connector.OpenContext
): Connector.SinkWriter<unknown> => {
  const csvCodec = format === "csv" ? csv(context !== undefined ? { node: context.node } : {}) : undefined
  const encode = encoder({ connector: "stdout", codec: csvCodec ?? ndjson(), config: errors ?? {}, context })
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
        const fresh = csvCodec !== undefined && csvCodec.columns() === undefined
        return Effect.flatMap(encode(batch.records, batch.start, batch.end), ({ text, written }) => {
          // the csv codec fixed its columns from the first record it could write: its header first
          const out = fresh && csvCodec?.columns() !== undefined ? csvCodec.header() + text : text
          return out.length === 0 ? Effect.succeed({ written }) : Effect.as(write(out), { written })
        })
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
  resources: (config) => ({ writes: DeadLetter.resources(config) }),
  open: (config, context) => Effect.sync(() => makeWriter(config.format ?? "ndjson", process.stdout, config, context))
})
