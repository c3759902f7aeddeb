/**
 * How the loop of a fused chain (`Processor.fuse`, which must load no Effect module: CSV range
 * threads run it) tells an error where the failing record was in its batch, without knowing the
 * error's class: an error that can carry a place implements {@link WithPlace} (`RecordError`
 * does), anything else is rethrown as it is.
 */

/** The method of an error that returns a copy of it carrying a record's place. */
export const WithPlace: unique symbol = Symbol.for("dataflare/RecordError/withPlace")

/** What the loop knows: the record's index in its batch, the batch's size and origin. */
export interface Place {
  readonly index: number
  readonly size: number
  readonly source?: string
  readonly position?: unknown
}

interface Placeable {
  readonly [WithPlace]: (place: Place) => unknown
}

const isPlaceable = (e: unknown): e is Placeable =>
  typeof e === "object" && e !== null && WithPlace in e && typeof (e as { [WithPlace]: unknown })[WithPlace] === "function"

/** `error` with the place of record `i` of `batch` when it can carry one (and has none yet). */
export const placed = (
  error: unknown,
  batch: { readonly start: number; readonly end: number; readonly origin: { readonly source: string; readonly position: unknown } | undefined },
  i: number
): unknown =>
  isPlaceable(error)
    ? error[WithPlace]({
      index: i - batch.start,
      size: batch.end - batch.start,
      ...(batch.origin !== undefined ? { source: batch.origin.source, position: batch.origin.position } : {})
    })
    : error
