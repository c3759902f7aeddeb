/**
 * Records a sink's server refused for good, item by item (a mapping error, a duplicate key):
 * under `on_error: fail` the batch fails with a `RecordError` naming the first one, its status and
 * the server's reason; under `on_error: dead_letter` they go to an NDJSON file — one line per
 * record: the node, the connector, the error tag, the item's status and reason, the time, the
 * source position of the batch it came in, and the record. Appended after the rest of the batch
 * is written and before the batch counts as written, so an entry may be written again after a
 * restore (at-least-once, like every dead-letter output). The file never grows past `max_bytes`
 * (default 1 GiB): rejections on that scale fail the run instead of filling the disk.
 */
import { Buffer } from "node:buffer"
import { appendFile, stat } from "node:fs/promises"
import { Effect } from "effect"
import type * as Batch from "../Batch.ts"
import { ConnectorError, RecordError, RejectedError } from "../Errors.ts"
import { DEAD_LETTER_MAX_BYTES } from "./deadLetters.ts"
import { toJsonText } from "./jsonText.ts"
import { fileError } from "./textFile.ts"

/** A record refused for good. */
export interface Rejection {
  /** Index of the record in the batch. */
  readonly index: number
  readonly record: unknown
  /** The document's id or key, when it has one. */
  readonly id: unknown
  /** The item's status or error code (or why it was not sent). */
  readonly status: number | string
  readonly reason: string
}

/** Sets rejected records aside; fails when it cannot. */
export type SetAside = (rejections: ReadonlyArray<Rejection>, batch: Batch.Batch<unknown>) => Effect.Effect<void, ConnectorError>

/** The failure of a batch with rejected records under `on_error: fail`: names the first. */
export const rejectionError = (
  rejected: ReadonlyArray<Rejection>,
  options: { readonly what: (r: Rejection) => string; readonly field: string | undefined }
): Effect.Effect<never, RecordError> => {
  const first = rejected.reduce((a, b) => (b.index < a.index ? b : a))
  const others = rejected.length > 1 ? ` (and ${rejected.length - 1} more in the batch)` : ""
  const status = typeof first.status === "number" ? `status ${first.status}` : first.status
  return Effect.fail(
    new RecordError({
      detail: `${options.what(first)} was rejected (${status}): ${first.reason}${others}; set on_error: dead_letter to set such records aside`,
      ...(options.field !== undefined ? { field: options.field } : {}),
      record: first.record
    })
  )
}

/** The dead-letter file writer of `node` (`connector`), with `extra` fields in every entry (e.g. the index). */
export const deadLetterFile = (
  connector: string,
  node: string,
  extra: { readonly [key: string]: string },
  config: { readonly path: string; readonly max_bytes?: number },
  /** Told how many entries were appended (`OpenContext.onDeadLetters`). */
  report: ((count: number) => void) | undefined
): SetAside => {
  const max = config.max_bytes ?? DEAD_LETTER_MAX_BYTES
  return (rejections, batch) =>
    Effect.gen(function*() {
      if (rejections.length === 0) return
      const time = new Date().toISOString()
      const text = rejections.map((r) =>
        toJsonText({
          node,
          connector,
          error: "RejectedError",
          ...extra,
          ...(r.id !== undefined ? { id: r.id } : {}),
          status: r.status,
          reason: r.reason,
          time,
          ...(batch.origin !== undefined ? { source: batch.origin.source, position: batch.origin.position } : {}),
          record: r.record
        }) + "\n"
      ).join("")
      const size = yield* Effect.tryPromise({
        try: () => stat(config.path).then((s) => s.size, (e: unknown) => (e !== null && typeof e === "object" && "code" in e && e.code === "ENOENT" ? 0 : Promise.reject(e))),
        catch: (e) => fileError(connector, "dead_letter", config.path, e)
      })
      if (size + Buffer.byteLength(text, "utf8") > max) {
        return yield* new ConnectorError({
          connector,
          operation: "dead_letter",
          reason: new RejectedError({
            message: `the dead-letter file ${config.path} would grow past dead_letter.max_bytes (${max} bytes; it holds ${size}): so many records are rejected that the input is probably not what the destination expects; fix it, or raise dead_letter.max_bytes`
          })
        })
      }
      yield* Effect.tryPromise({ try: () => appendFile(config.path, text), catch: (e) => fileError(connector, "dead_letter", config.path, e) })
      report?.(rejections.length)
    })
}
