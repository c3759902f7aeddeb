/**
 * What a range thread (a worker thread reading one byte range of a file for a parallel file
 * source: `csv`, `ndjson`) and the main thread say to each other, and how the thread fails. The
 * main-thread side is `rangeThread.ts`; each source's thread program is in `src/workers/internal/`.
 * No Effect here: the threads load it.
 */
import type { SetAside } from "../../../internal/deadLetters.ts"

/** A stateless node the range reader runs itself (rebuilt in the worker from its config). */
export interface FusedNode {
  readonly node: string
  readonly type: string
  readonly config: unknown
}

/** The failure of a range reader, as data (it crosses the thread boundary). */
export type RangeFailure =
  | {
    readonly _tag: "Record"
    readonly detail: string
    readonly line: number
    readonly column: number
    readonly field: string | undefined
    /** The record's fields (csv) or its text (ndjson), when the error quotes it. */
    readonly record: ReadonlyArray<string> | string | undefined
  }
  | { readonly _tag: "Io"; readonly operation: string; readonly code: string; readonly message: string }
  | {
    readonly _tag: "Step"
    readonly node: string
    readonly name: string
    readonly message: string
    readonly detail: string | undefined
    readonly field: string | undefined
    readonly record: unknown
  }

/**
 * A record a range reader skipped (`oversize: dead_letter`, `on_error: dead_letter`); the main
 * thread writes it down: a `SetAside` of `internal/deadLetters.ts`.
 */
export type RangeSetAside = SetAside

/** Thrown by the reader (and caught at the worker boundary, which sends it as data). */
export class RangeReadError extends Error {
  readonly failure: RangeFailure
  constructor(failure: RangeFailure) {
    super(failure._tag === "Io" ? failure.message : failure.detail ?? "")
    this.failure = failure
  }
}

/** What a range thread sends for an error thrown while it reads: its failure, or an I/O failure naming it. */
export const failureOf = (e: unknown): RangeFailure =>
  e instanceof RangeReadError
    ? e.failure
    : { _tag: "Io", operation: "read", code: "", message: e instanceof Error ? (e.stack ?? e.message) : String(e) }

/** An I/O failure of `operation`, as data. */
export const ioFailure = (operation: string, e: unknown): RangeReadError => {
  const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : ""
  return new RangeReadError({ _tag: "Io", operation, code, message: e instanceof Error ? e.message : String(e) })
}

/** How many times `byte` occurs in `bytes` from `from`. */
export const countByte = (bytes: Uint8Array, byte: number, from: number): number => {
  let n = 0
  let i = bytes.indexOf(byte, from)
  while (i !== -1) {
    n++
    i = bytes.indexOf(byte, i + 1)
  }
  return n
}

/** What the main thread sends to a range worker. */
export type RangeRequest =
  | { readonly _tag: "Read"; readonly id: number; readonly max: number }
  | { readonly _tag: "Seek"; readonly id: number; readonly offset: number; readonly line: number }

/** What a range worker answers. `Start` comes first, unasked: where the range starts. */
export type RangeReply =
  | { readonly _tag: "Start"; readonly offset: number; readonly line: number }
  | {
    readonly _tag: "Batch"
    readonly id: number
    /** The records (empty when they come as `ndjson`). */
    readonly records: Array<unknown>
    /** With `encode: "ndjson"`: the records as NDJSON lines (a transferred buffer), and how many. */
    readonly ndjson: { readonly bytes: Uint8Array; readonly count: number } | undefined
    /** With `encode: "csv"`: the records as CSV lines for `columns` (transferred buffers), when the batch is uniform. */
    readonly csv?: {
      readonly bytes: Uint8Array
      readonly types: Uint8Array
      readonly columns: ReadonlyArray<string>
      readonly count: number
    } | undefined
    readonly setAside: Array<RangeSetAside>
    readonly offset: number
    readonly line: number
    readonly done: boolean
    /** Fused nodes: records in of each node, then records out of the last (totals so far). */
    readonly counts: ReadonlyArray<number> | undefined
  }
  | { readonly _tag: "Failed"; readonly id: number; readonly failure: RangeFailure }
