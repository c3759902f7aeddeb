/**
 * The error of the `worker_map` processor: a batch sent to a worker thread could not be turned
 * into output records. It names the user module and export, says what went wrong (`reason`) and,
 * when one record was at fault, its index in the batch and the record itself.
 *
 * The runtime wraps it into a `NodeError` naming the node, so a failed run reads
 * `node 'score' failed: worker_map ./transforms/heavy.ts#transform: record 17 of the batch:
 * price is negative`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Why a worker batch failed:
 * - `load`: the module could not be imported in the worker, or the export is not a function;
 * - `user`: the user's function threw (or its promise rejected);
 * - `clone`: a record or a result could not cross the thread boundary (structured clone refused
 *   it: functions, class instances with private state, sockets...);
 * - `crash`: the worker thread died (`process.exit`, out of memory, an uncaught asynchronous
 *   error) while it held the batch.
 *
 * @category models
 * @since 0.1.0
 */
export const WorkerMapFailure = Schema.Literals(["load", "user", "clone", "crash"])

/**
 * @category models
 * @since 0.1.0
 */
export type WorkerMapFailure = typeof WorkerMapFailure.Type

/**
 * A `worker_map` batch failed. `module` is the module as configured, `export` the export name,
 * `reason` the kind of failure, `detail` the message of the underlying error (for `user`, the
 * message of what the user's function threw), `index` the 0-based index of the record at fault in
 * the batch (record mode only) and `stack` the stack trace from inside the worker, when known.
 *
 * @category errors
 * @since 0.1.0
 */
export class WorkerMapError extends Schema.TaggedError<WorkerMapError>()("WorkerMapError", {
  module: Schema.String,
  export: Schema.String,
  reason: WorkerMapFailure,
  detail: Schema.String,
  index: Schema.optional(Schema.Number),
  record: Schema.optional(Schema.Unknown),
  stack: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const at = this.index !== undefined ? `record ${this.index} of the batch: ` : ""
    const what = this.reason === "crash" ? "worker crashed: " : this.reason === "load" ? "cannot load: " : ""
    return `worker_map ${this.module}#${this.export}: ${what}${at}${this.detail}`
  }
}
