/**
 * The `ndjson` sink: writes one JSON line per record, one file write per batch.
 *
 * The file is started afresh at the first write of a new run. Values `JSON.stringify` would
 * refuse or change are written exactly (`internal/jsonText.ts`): a `bigint` as a JSON number with
 * all its digits, `-0` as `-0`, `NaN`/`±Infinity` as the strings `"NaN"`, `"Infinity"`,
 * `"-Infinity"`, a `Uint8Array` as PostgreSQL's hex text `"\\x..."`. A record with a cycle fails
 * with a `RecordError`. `flush` fsyncs the file.
 * Guarantee: exactly-once — each checkpoint records the file's length in a journal next to it
 * (`.<name>.checkpoints`), and a restore truncates the file back to that length before the
 * records after the checkpoint are written again. One file: the sink declares
 * `maxParallelism: 1`, so the workflow's default parallelism does not apply to it and an explicit
 * larger one is refused by `validate`.
 *
 * @since 0.1.0
 */
import { access, constants } from "node:fs/promises"
import { dirname } from "node:path"
import { Effect } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { type ConnectorError, RecordError } from "../../Errors.ts"
import { toJsonText } from "../../internal/jsonText.ts"
import { openSinkFile } from "../../internal/sinkFile.ts"
import { fileError } from "../../internal/textFile.ts"
import { NdjsonConfig } from "./NdjsonConfig.ts"

const CONNECTOR = "ndjson"

/**
 * Formats records `[start, end)` as NDJSON lines (each ending with `\n`; values written exactly,
 * see the module doc); on a record JSON cannot represent (a cycle), returns the index of that
 * record instead and the error in `failure`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatLines = (
  records: ReadonlyArray<unknown>,
  start: number,
  end: number,
  failure: { error: unknown }
): string | number => {
  let out = ""
  let i = start
  try {
    for (; i < end; i++) out += toJsonText(records[i]) + "\n"
    return out
  } catch (e) {
    failure.error = e
    return i
  }
}

/**
 * The `ndjson` sink definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const NdjsonSink: Connector.SinkDefinition<NdjsonConfig, unknown> = Connector.sink({
  type: CONNECTOR,
  description: "Writes records as JSON, one object per line",
  config: NdjsonConfig,
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
      const file = yield* openSinkFile(CONNECTOR, path)
      const start = Effect.suspend(() => file.started() ? Effect.void : Effect.asVoid(file.restore(undefined)))
      const flush = Effect.andThen(start, file.sync)
      const failure: { error: unknown } = { error: undefined }
      const writer: Connector.SinkWriter<unknown> = {
        writeBatch: (batch) =>
          Effect.andThen(
            start,
            Effect.suspend((): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> => {
              const size = Batch.size(batch)
              if (size === 0) return Effect.succeed({ written: 0 })
              const text = formatLines(batch.records, batch.start, batch.end, failure)
              if (typeof text === "number") {
                const e = failure.error
                return Effect.fail(
                  new RecordError({
                    detail: `cannot write the record as JSON: ${e instanceof Error ? e.message : String(e)}`,
                    location: { file: path },
                    record: batch.records[text]
                  })
                )
              }
              return Effect.map(file.write(text), (bytes) => ({ written: size, bytes }))
            })
          ),
        flush,
        preCommit: (id) => Effect.andThen(flush, file.preCommit(id)),
        restore: (id) => Effect.asVoid(file.restore(id))
      }
      return writer
    })
})
