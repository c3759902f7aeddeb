/**
 * Positions of the file sources (`csv`, `ndjson`): the byte offset and 1-based line of the next
 * unread record, read back from a stored position when a source seeks.
 */
import { Effect } from "effect"
import { ConnectorError, RejectedError } from "../Errors.ts"

/**
 * A position of the `csv` and `ndjson` sources: the byte offset and 1-based line of the next
 * unread record.
 *
 * @category models
 * @since 0.1.0
 */
export interface FilePosition {
  readonly offset: number
  readonly line: number
}

/**
 * Reads a {@link FilePosition} back from a stored position (`undefined` when it is not one).
 *
 * @category positions
 * @since 0.1.0
 */
export const decodePosition = (position: unknown): FilePosition | undefined => {
  if (typeof position !== "object" || position === null || Array.isArray(position)) return undefined
  const { offset, line } = position as { readonly offset?: unknown; readonly line?: unknown }
  return typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0 &&
      typeof line === "number" && Number.isSafeInteger(line) && line >= 1
    ? { offset, line }
    : undefined
}

/**
 * The position a `seek` of `connector` goes to, or its error for a value that is not a file
 * position (`what` names the expected position in the message, e.g. "a csv position").
 */
export const seekTarget = (connector: string, what: string, raw: unknown): Effect.Effect<FilePosition, ConnectorError> => {
  const target = decodePosition(raw)
  return target !== undefined ? Effect.succeed(target) : Effect.fail(
    new ConnectorError({
      connector,
      operation: "seek",
      reason: new RejectedError({ message: `not ${what}: ${JSON.stringify(raw)}` })
    })
  )
}
