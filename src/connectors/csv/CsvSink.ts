/**
 * The `csv` sink: writes records as RFC 4180 lines, one write per batch.
 *
 * The file is started afresh at the first write of a new run. The columns are the keys of `columns`
 * in order when given (other fields are not written: a deliberate projection), else the keys of
 * the first record — then a later record holding a field not among them is a record error naming
 * the node, the field and the columns (its value would be lost; declare `columns:`), handled by
 * `on_error` as below; a missing field is written empty. A header line comes first
 * unless `header: false`. Fields are quoted only when needed; `null` becomes an empty field, a
 * `Date` its ISO-8601 text, an object its JSON text (see {@link CsvFormat}). Lines end with LF.
 * `flush` fsyncs the file. A record that cannot be a line — not an object, or holding a value
 * JSON cannot write (a cycle) — fails the run naming the node and the record (`on_error: fail`,
 * the default), or with `on_error: dead_letter` goes to `dead_letter: { path }` or `{ to }` while
 * the rest of its batch is written. Guarantee: exactly-once — each checkpoint records the file's length
 * in a journal next to it (`.<name>.checkpoints`), and a restore truncates the file back to the
 * length of the restored checkpoint before the records after it are written again. One file:
 * the sink declares `maxParallelism: 1` (the workflow's default parallelism does not apply to it;
 * an explicit larger one is refused by `validate`).
 *
 * @since 0.1.0
 */
import * as Connector from "../../Connector.ts"
import { csv } from "../kit/codecs/csv.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as FileSink from "../kit/FileSink.ts"
import { CsvConfig } from "./CsvConfig.ts"

const CONNECTOR = "csv"

/**
 * The `csv` sink definition: a file sink of the kit with the `csv` codec.
 *
 * @category definitions
 * @since 0.1.0
 */
export const CsvSink: Connector.SinkDefinition<CsvConfig, unknown> = Connector.sink({
  type: CONNECTOR,
  description: "Writes records as RFC 4180 CSV lines, with a header row",
  config: CsvConfig,
  // one file, written by one instance
  // CSV rows a parallel source's threads wrote (Batch.CsvRowsEncoded): written as they are when they are its columns
  capabilities: () => ({ guarantee: "exactly-once", transactional: false, maxParallelism: 1, accepts: ["application/x-csv-rows"] }),
  resources: (config) => ({ writes: [{ kind: "file", name: config.path, key: ["path"] }, ...DeadLetter.resources(config)] }),
  check: (config) => FileSink.check(CONNECTOR, config.path),
  open: (config, context) =>
    FileSink.open({
      errors: config,
      context,
      connector: CONNECTOR,
      path: config.path,
      codec: csv({
        delimiter: config.delimiter ?? ",",
        node: context.node,
        declarable: true,
        ...(config.columns !== undefined ? { columns: Object.keys(config.columns) } : {})
      }),
      header: config.header !== false
    })
})
