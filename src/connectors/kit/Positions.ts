/**
 * Source positions declared as a Schema: a definition's `position(config)` says what its positions
 * look like; the runtime decodes every position a checkpoint stored with it before any connector
 * opens (a position that is not one of the source's refuses the resume, naming the node, the
 * instance and the checkpoint — never a silent start from somewhere else), and again before
 * `seek`; a reader's own `seek` decodes with the same Schema ({@link decoder}), so one
 * description of a position serves the runtime, the reader and the error messages.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Positions } from "dataflare"
 *
 * // a broker's position: the last sequence number acknowledged
 * const Sequence = Schema.Struct({ seq: Positions.Offset })
 * const decode = Positions.decoder("my-source", Sequence)
 * ```
 * @since 0.4.0
 */
import { Effect, Exit, Schema } from "effect"
import type { Position } from "../../Batch.ts"
import { RestoreError } from "../../Checkpoint.ts"
import { ConnectorError, RejectedError } from "../../Errors.ts"

/**
 * A non-negative safe integer: a record index, a byte offset, a sequence number.
 *
 * @category schemas
 * @since 0.4.0
 */
export const Offset = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(Number.MAX_SAFE_INTEGER))

/**
 * A 1-based line number.
 *
 * @category schemas
 * @since 0.4.0
 */
export const Line = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(Number.MAX_SAFE_INTEGER))

/**
 * A position in a file: the byte offset and the 1-based line of the next unread record.
 *
 * @category schemas
 * @since 0.4.0
 */
export const FileOffset = Schema.Struct({ offset: Offset, line: Line })

/**
 * The text of why `raw` does not decode with `schema`, or the decoded value.
 *
 * @category decoding
 * @since 0.4.0
 */
export const decode = <A>(schema: Schema.Decoder<A>, raw: unknown): { readonly ok: true; readonly value: A } | { readonly ok: false; readonly issue: string } => {
  const exit = Schema.decodeUnknownExit(schema)(raw)
  if (Exit.isSuccess(exit)) return { ok: true, value: exit.value }
  const squashed = exit.cause.reasons.map((r) => ("error" in r ? String((r.error as { readonly message?: unknown }).message ?? r.error) : String(r))).join("; ")
  return { ok: false, issue: squashed.replaceAll("\n", " ") }
}

/**
 * A reader's decoder of the positions `seek` is given: the decoded position, or a `ConnectorError`
 * (`seek`, rejected) naming the value — `not <what>: <value>`, `what` defaulting to "a position
 * of this source (<what is wrong>)".
 *
 * @category decoding
 * @since 0.4.0
 */
export const decoder = <A>(connector: string, schema: Schema.Decoder<A>, what?: string) => (raw: Position | unknown): Effect.Effect<A, ConnectorError> => {
  const result = decode(schema, raw)
  return result.ok ? Effect.succeed(result.value) : Effect.fail(
    new ConnectorError({
      connector,
      operation: "seek",
      reason: new RejectedError({
        message: what !== undefined ? `not ${what}: ${preview(raw)}` : `not a position of this source: ${preview(raw)} (${result.issue})`
      })
    })
  )
}

/**
 * The refusal of a stored position that does not decode: a `RestoreError` naming the node, the
 * instance, the checkpoint, the value and the issue, with the way out.
 *
 * @category decoding
 * @since 0.4.0
 */
export const restoreError = (node: string, instance: number, checkpoint: number, raw: unknown, issue: string): RestoreError =>
  new RestoreError({
    node,
    checkpoint,
    reason: `the position the checkpoint holds for instance ${instance}, ${preview(raw)}, is not a position of this source: ${issue} (was the source's type or config changed?)`,
    remedy: "run with --from-scratch to read the source from the start (or restore the earlier definition)"
  })

/**
 * The stored position of a source instance decoded with the source's position Schema (the runtime
 * calls this before `seek`); without a Schema, the position as stored.
 *
 * @category decoding
 * @since 0.4.0
 */
export const decodeStored = (
  schema: Schema.Decoder<unknown> | undefined,
  at: { readonly node: string; readonly instance: number; readonly checkpoint: number },
  raw: unknown
): Effect.Effect<Position, RestoreError> => {
  if (schema === undefined) return Effect.succeed(raw as Position)
  const result = decode(schema, raw)
  return result.ok ? Effect.succeed(result.value as Position) : Effect.fail(restoreError(at.node, at.instance, at.checkpoint, raw, result.issue))
}

const preview = (raw: unknown): string => {
  let text: string
  try {
    text = JSON.stringify(raw) ?? String(raw)
  } catch {
    text = String(raw)
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}
