/**
 * The `ndjson` source: streams a file of JSON objects, one per line, in chunks.
 *
 * Blank lines (empty or only whitespace) are skipped. A line that is not valid JSON, or whose
 * value is not an object, fails with a `RecordError` located at `file:line` that quotes the JSON
 * error. With a `schema` (from the DSL's `Ndjson.source({ path, schema })`), each object is
 * decoded by it as it is read; one it does not decode fails with a `RecordError` at `file:line`
 * naming the field (fields the Schema does not declare are kept). Position: `{ offset, line }`, the byte offset and 1-based line of the next unread line;
 * `seek` repositions the file there; `commit` does nothing.
 *
 * @since 0.1.0
 */
import { access, constants } from "node:fs/promises"
import { Clock, Effect } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { RecordError } from "../../Errors.ts"
import { END, LineSplitter, NEED_MORE } from "./internal/lines.ts"
import { decodeAll } from "../../internal/decode.ts"
import { checkRestore, identify, seekTarget } from "../../internal/filePosition.ts"
import { fileError, openTextFile } from "../../internal/textFile.ts"
import { NdjsonSourceConfig } from "./NdjsonConfig.ts"

const CONNECTOR = "ndjson"

const isBlank = (line: string): boolean => line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim().length === 0)

/**
 * The `ndjson` source definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const NdjsonSource: Connector.SourceDefinition<NdjsonSourceConfig, object> = Connector.source({
  type: CONNECTOR,
  description: "Reads a file of JSON objects, one per line",
  config: NdjsonSourceConfig,
  capabilities: () => ({ seekable: true, unbounded: false }),
  check: (config) =>
    Effect.tryPromise({
      try: () => access(config.path, constants.R_OK),
      catch: (e) => fileError(CONNECTOR, "check", config.path, e)
    }),
  // the file's identity is kept with each position; a resume refuses a replaced file
  identify: (config, position) => identify(CONNECTOR, config.path, position),
  checkRestore: (config, context) => checkRestore(CONNECTOR, config.path, context),
  open: (config, context) =>
    Effect.gen(function*() {
      const path = config.path
      const decode = config.schema
      const file = yield* openTextFile(CONNECTOR, path)
      let lines = new LineSplitter()
      // Only the first instance reads: a file is not split between parallel instances.
      let finished = context.instance > 0
      const position = () => ({ offset: lines.offset(), line: lines.line })
      const reader: Connector.SourceReader<object> = {
        readBatch: (max) =>
          Effect.gen(function*() {
            if (finished) return undefined
            const records: Array<object> = []
            while (records.length < max) {
              const status = lines.next()
              if (status === NEED_MORE) {
                const chunk = yield* file.read
                if (chunk === undefined) lines.end()
                else lines.push(chunk)
                continue
              }
              if (status === END) {
                finished = true
                break
              }
              const text = lines.value
              if (isBlank(text)) continue
              let value: unknown
              try {
                value = JSON.parse(text)
              } catch (e) {
                return yield* new RecordError({
                  detail: `invalid JSON: ${e instanceof Error ? e.message : String(e)}`,
                  location: { file: path, line: lines.valueLine },
                  record: text
                })
              }
              if (typeof value !== "object" || value === null || Array.isArray(value)) {
                return yield* new RecordError({
                  detail: `expected a JSON object, got ${Array.isArray(value) ? "an array" : JSON.stringify(value)}`,
                  location: { file: path, line: lines.valueLine },
                  record: text
                })
              }
              if (decode !== undefined) {
                const decoded = decodeAll(decode, value, "ignore")
                if (!decoded.ok) {
                  const issue = decoded.issues[0]
                  return yield* new RecordError({
                    detail: issue.message,
                    location: { file: path, line: lines.valueLine },
                    ...(issue.path.length > 0 ? { field: issue.path.map(String).join(".") } : {}),
                    record: text
                  })
                }
                // the fields the Schema does not declare are kept as they were
                records.push({ ...value, ...decoded.value })
              } else records.push(value)
            }
            if (records.length === 0) return undefined
            const readAt = yield* Clock.currentTimeMillis
            return Batch.make(records, { origin: { source: context.node, position: position() }, readAt })
          }),
        position: Effect.sync(position),
        seek: (raw) =>
          Effect.map(seekTarget(CONNECTOR, "an ndjson position", raw), (target) => {
            lines = new LineSplitter(target.offset, target.line)
            file.reposition(target.offset)
            finished = context.instance > 0
          }),
        commit: () => Effect.void
      }
      return reader
    })
})
