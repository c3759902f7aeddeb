/**
 * The `ndjson` sink: writes one `JSON.stringify` line per record, one file write per batch.
 *
 * The file is created or truncated when the sink opens. A record that JSON cannot represent (a
 * `bigint`, a cycle) fails with a `RecordError`. `flush` fsyncs the file. Guarantee:
 * at-least-once.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { access, constants, type FileHandle, open } from "node:fs/promises"
import { dirname } from "node:path"
import { Effect } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { type ConnectorError, RecordError } from "../../Errors.ts"
import { fileError } from "./internal/textFile.ts"
import { NdjsonConfig } from "./NdjsonConfig.ts"

const CONNECTOR = "ndjson"

/**
 * Formats records `[start, end)` as NDJSON lines (each ending with `\n`); on a record JSON cannot
 * represent, returns the index of that record instead and the error in `failure`.
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
    for (; i < end; i++) out += JSON.stringify(records[i]) + "\n"
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
  capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
  check: (config) =>
    Effect.tryPromise({
      try: () => access(dirname(config.path), constants.W_OK),
      catch: (e) => fileError(CONNECTOR, "check", dirname(config.path), e)
    }),
  open: (config) =>
    Effect.gen(function*() {
      const path = config.path
      const handle: FileHandle = yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => open(path, "w"), catch: (e) => fileError(CONNECTOR, "open", path, e) }),
        (h) => Effect.promise(() => h.close()).pipe(Effect.ignore)
      )
      const failure: { error: unknown } = { error: undefined }
      const writer: Connector.SinkWriter<unknown> = {
        writeBatch: (batch) =>
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
            const bytes = Buffer.from(text, "utf8")
            return Effect.tryPromise({
              try: () => handle.writeFile(bytes),
              catch: (e) => fileError(CONNECTOR, "write", path, e)
            }).pipe(Effect.as({ written: size, bytes: bytes.length }))
          }),
        flush: Effect.tryPromise({
          try: () => handle.sync(),
          catch: (e) => fileError(CONNECTOR, "flush", path, e)
        })
      }
      return writer
    })
})
