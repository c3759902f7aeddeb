/**
 * The messages between the `worker_map` pool (main thread) and its worker threads. They travel
 * inside Effect's worker protocol (`effect/workers`), by structured clone.
 */

/** How a record function or a batch function is called. */
export type Mode = "record" | "batch"

/** What a worker gets at start (`workerData`): which export of which module to run. */
export interface WorkerInit {
  /** `file:` URL of the user module. */
  readonly url: string
  readonly export: string
  readonly mode: Mode
}

/**
 * One batch to process. `id` pairs the answer with the request. With `setAside` (record mode),
 * a record the function throws on is answered in `failed` and the others go on.
 */
export interface Request {
  readonly id: number
  readonly records: ReadonlyArray<unknown>
  readonly setAside?: boolean
}

/** A record the function threw on (record mode with `setAside`): its index in the batch and why. */
export interface RecordFailure {
  readonly index: number
  readonly detail: string
  readonly stack: string | undefined
}

/** The answer to one request. */
export type Response =
  | { readonly _tag: "Ok"; readonly id: number; readonly records: ReadonlyArray<unknown>; readonly failed?: ReadonlyArray<RecordFailure> }
  | {
    readonly _tag: "Failed"
    readonly id: number
    readonly reason: "load" | "user" | "clone"
    readonly detail: string
    readonly index: number | undefined
    readonly record: unknown
    readonly stack: string | undefined
  }
