/**
 * The dead-letter file of a file source (`oversize: dead_letter`): one NDJSON line per record set
 * aside — where it is in the input (`file`, `line`, `offset`), why, and its first characters (not
 * the record itself: it is set aside for being too large). Appended before the batch after it is
 * handed on, so after a restore an entry may be written again (at-least-once, like the postgres
 * sink's dead letters). The file never grows past `max_bytes`: an input whose records are set
 * aside wholesale fails the run instead of filling the disk.
 */
import { Effect } from "effect"
import * as DeadLetter from "../connectors/kit/DeadLetter.ts"
import { ConnectorError, RejectedError } from "../Errors.ts"

/** The default of `dead_letter.max_bytes`: 1 GiB. */
export const DEAD_LETTER_MAX_BYTES = DeadLetter.DEAD_LETTER_MAX_BYTES

/** A record set aside. */
export interface SetAside {
  readonly line: number
  readonly offset: number
  readonly error: string
  readonly head: string
}

/** Appends entries to the dead-letter file; fails once it would grow past the limit. */
export type DeadLetters = (entries: ReadonlyArray<SetAside>) => Effect.Effect<void, ConnectorError>

/** The dead-letter writer of a source reading `file` for `node` (the kit's `DeadLetter.appendText`). */
export const deadLetters = (
  connector: string,
  node: string,
  file: string,
  config: { readonly path: string; readonly max_bytes?: number },
  /** Told how many entries were appended (`OpenContext.onDeadLetters`). */
  report?: ((count: number) => void) | undefined
): DeadLetters => {
  const max = config.max_bytes ?? DEAD_LETTER_MAX_BYTES
  return (entries) =>
    Effect.gen(function*() {
      if (entries.length === 0) return
      const text = entries.map((e) => JSON.stringify({ node, file, line: e.line, offset: e.offset, error: e.error, head: e.head }) + "\n").join("")
      const overflow = yield* DeadLetter.appendText(connector, config.path, max, text)
      if (overflow !== undefined) {
        return yield* new ConnectorError({
          connector,
          operation: "dead_letter",
          reason: new RejectedError({
            message: `${DeadLetter.overflowText(overflow)} with the record at ${file}:${entries[0].line}: so many records are set aside that the input is probably not what the workflow expects; fix it, or raise dead_letter.max_bytes`
          })
        })
      }
      report?.(entries.length)
    })
}
