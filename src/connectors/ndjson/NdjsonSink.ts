/**
 * The `ndjson` sink: writes one JSON line per record, one file write per batch.
 *
 * The file is started afresh at the first write of a new run. Values `JSON.stringify` would
 * refuse or change are written exactly (`internal/jsonText.ts`): a `bigint` as a JSON number with
 * all its digits, `-0` as `-0`, `NaN`/`±Infinity` as the strings `"NaN"`, `"Infinity"`,
 * `"-Infinity"`, a `Uint8Array` as PostgreSQL's hex text `"\\x..."`. A record with a cycle fails
 * with a `RecordError` naming the node and the record (`on_error: fail`, the default), or with
 * `on_error: dead_letter` goes to `dead_letter: { path }` or `{ to }` while the rest of its batch
 * is written. `flush` fsyncs the file.
 * Guarantee: exactly-once — each checkpoint records the file's length in a journal next to it
 * (`.<name>.checkpoints`), and a restore truncates the file back to that length before the
 * records after the checkpoint are written again. One file: the sink declares
 * `maxParallelism: 1`, so the workflow's default parallelism does not apply to it and an explicit
 * larger one is refused by `validate`.
 *
 * @since 0.1.0
 */
import * as Connector from "../../Connector.ts"
import { ndjson } from "../kit/codecs/json.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as FileSink from "../kit/FileSink.ts"
import { NdjsonConfig } from "./NdjsonConfig.ts"

const CONNECTOR = "ndjson"

/**
 * The `ndjson` sink definition: a file sink of the kit with the `ndjson` codec.
 *
 * @category definitions
 * @since 0.1.0
 */
export const NdjsonSink: Connector.SinkDefinition<NdjsonConfig, unknown> = Connector.sink({
  type: CONNECTOR,
  description: "Writes records as JSON, one object per line",
  config: NdjsonConfig,
  // one file, written by one instance
  // NDJSON encoded on a parallel source's threads (`Batch.NdjsonEncoded`) is written as it is
  capabilities: () => ({ guarantee: "exactly-once", transactional: false, maxParallelism: 1, accepts: ["application/x-ndjson"] }),
  resources: (config) => ({ writes: [{ kind: "file", name: config.path, key: ["path"] }, ...DeadLetter.resources(config)] }),
  check: (config) => FileSink.check(CONNECTOR, config.path),
  open: (config, context) => FileSink.open({ connector: CONNECTOR, path: config.path, codec: ndjson(), errors: config, context })
})
