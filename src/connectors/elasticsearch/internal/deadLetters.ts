/**
 * The dead letters of the `elasticsearch` sink (`on_error: dead_letter`): one NDJSON line per
 * rejected document — the record, the node, the error tag, the item's HTTP status and the
 * server's reason, the time, and the source position of the batch it came in. Appended after the
 * rest of the batch is written and before the batch counts as written, so an entry may be written
 * again after a restore (at-least-once, like every dead-letter output).
 */
import { Buffer } from "node:buffer"
import { appendFile, stat } from "node:fs/promises"
import { Effect } from "effect"
import { ConnectorError, RejectedError } from "../../../Errors.ts"
import { DEAD_LETTER_MAX_BYTES } from "../../../internal/deadLetters.ts"
import { toJsonText } from "../../../internal/jsonText.ts"
import { fileError } from "../../../internal/textFile.ts"
import type { SetAside } from "./writer.ts"

/** The dead-letter writer of node `node` writing to `index`. */
export const deadLetterFile = (
  node: string,
  index: string,
  config: { readonly path: string; readonly max_bytes?: number },
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
          connector: "elasticsearch",
          error: "RejectedError",
          index,
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
        catch: (e) => fileError("elasticsearch", "dead_letter", config.path, e)
      })
      if (size + Buffer.byteLength(text, "utf8") > max) {
        return yield* new ConnectorError({
          connector: "elasticsearch",
          operation: "dead_letter",
          reason: new RejectedError({
            message: `the dead-letter file ${config.path} would grow past dead_letter.max_bytes (${max} bytes; it holds ${size}): so many documents are rejected that the input is probably not what the index expects; fix it, or raise dead_letter.max_bytes`
          })
        })
      }
      yield* Effect.tryPromise({ try: () => appendFile(config.path, text), catch: (e) => fileError("elasticsearch", "dead_letter", config.path, e) })
      report?.(rejections.length)
    })
}
