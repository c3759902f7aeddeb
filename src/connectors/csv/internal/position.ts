/**
 * Positions of the `csv` source.
 */

/**
 * A position of the `csv` (and `ndjson`) source: the byte offset and 1-based line of the next
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
 * Reads a {@link FilePosition} back from a stored position.
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
