/**
 * Shared machinery of the durable backends: decoding stored records, choosing the newest
 * complete chain of records to restore, and choosing which records to keep.
 *
 * A chain is a run of records with consecutive ids that starts at a full snapshot: incremental
 * record `n` holds the changes since record `n - 1` (the coordinator completes one checkpoint at a
 * time, and after a restore from `k` continues with `k + 1`). A record whose predecessor is
 * missing or unreadable cannot be restored, so the newest chain whose every link is readable wins.
 */
import { Effect, Schema } from "effect"
import { CheckpointRecord, type Restored, restoreFrom } from "../../Checkpoint.ts"
import { RETAIN } from "../../StateBackend.ts"
import { SEALED_FORMAT, unseal } from "./checksum.ts"

const decodeResult = Schema.decodeUnknownResult(CheckpointRecord)

/** Decodes a stored record, or returns the reason it does not decode. */
export const decodeRecord = (value: unknown): { readonly ok: true; readonly record: CheckpointRecord } | { readonly ok: false; readonly reason: string } => {
  const result = decodeResult(value)
  return result._tag === "Success" ? { ok: true, record: result.success } : { ok: false, reason: result.failure.message.replace(/\s+/g, " ") }
}

/**
 * Checks a stored record's checksum, parses and decodes it; or returns why it is damaged
 * (checksum mismatch, a checksummed format without a checksum, not JSON, not a record).
 */
export const readRecord = (text: string): { readonly ok: true; readonly record: CheckpointRecord } | { readonly ok: false; readonly reason: string } => {
  const unsealed = unseal(text)
  if (!unsealed.ok) return unsealed
  let value: unknown
  try {
    value = JSON.parse(unsealed.json)
  } catch (error) {
    return { ok: false, reason: `not JSON (${String(error)})` }
  }
  const decoded = decodeRecord(value)
  if (decoded.ok && !unsealed.sealed && decoded.record.format >= SEALED_FORMAT) {
    return { ok: false, reason: "it has no checksum (it was edited or damaged)" }
  }
  return decoded.ok ? decoded : { ok: false, reason: `it does not decode as a checkpoint record (${decoded.reason})` }
}

/** What pruning needs to know about a stored record. */
export interface Meta {
  readonly id: number
  readonly full: boolean
}

/**
 * The ids to keep, by the same rule as `StateBackend.retained`: the last `RETAIN` records and
 * everything back to the last full one before them. `metas` must be sorted by id.
 */
export const retainedIds = (metas: ReadonlyArray<Meta>): ReadonlySet<number> => {
  let start = Math.max(0, metas.length - RETAIN)
  while (start > 0 && !metas[start].full) start--
  const keep = new Set<number>()
  for (let i = start; i < metas.length; i++) keep.add(metas[i].id)
  return keep
}

/**
 * Finds the newest restorable chain. `ids` are every stored id, in any order; `load` reads one
 * record (`undefined` when it is unreadable — the loader logs why). Records are loaded newest first
 * and only as far back as needed.
 */
export const latestChain = <E, R>(
  ids: ReadonlyArray<number>,
  load: (id: number) => Effect.Effect<CheckpointRecord | undefined, E, R>
): Effect.Effect<Restored | undefined, E, R> =>
  Effect.gen(function*() {
    const present = new Set(ids)
    const sorted = [...present].sort((a, b) => b - a)
    const cache = new Map<number, CheckpointRecord | undefined>()
    const get = (id: number) =>
      cache.has(id) ? Effect.succeed(cache.get(id)) : Effect.tap(load(id), (r) => Effect.sync(() => cache.set(id, r)))
    for (const head of sorted) {
      const chain: Array<CheckpointRecord> = []
      let id = head
      for (;;) {
        const record = present.has(id) ? yield* get(id) : undefined
        if (record === undefined) break
        chain.push(record)
        if (record.full) return restoreFrom(chain.reverse())
        id = id - 1
      }
      if (chain.length > 0) {
        yield* Effect.logWarning(
          `checkpoint ${head} cannot be restored: record ${id} of its chain is missing or unreadable; trying an older checkpoint`
        )
      }
    }
    return undefined
  })

/** Whether `id` can name a checkpoint record. */
export const validId = (id: number): boolean => Number.isSafeInteger(id) && id >= 0
