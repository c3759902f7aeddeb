/**
 * Reading a stream as one consumer of a group, so that a restore from a checkpoint neither loses
 * nor repeats an entry.
 *
 * Entries reach the consumer `C` in ascending id order: first its own pending entries (those it
 * read before a restart and did not acknowledge), then new ones (`>`). The position after a batch
 * is `{ id, claimed }`: `id` the highest entry id read through `C` — every pending entry of `C` up
 * to it was read before the checkpoint that stores the position, so after a restore they are
 * skipped (and acknowledged with the next commit) and the rest is read again.
 *
 * Entries of a dead consumer (one idle for `claim_idle`) are claimed into a second consumer,
 * `C:claimed`, with `XCLAIM` (not `XAUTOCLAIM`, which claims every idle entry of the group, the
 * entries a live consumer holds until its next checkpoint included). Their ids are below `id`, so
 * the position lists them (`claimed`) until they are acknowledged: after a restore, the pending
 * entries of `C:claimed` it lists are skipped, the others read again.
 *
 * While reading is paused (backpressure) the consumer still announces itself every few seconds,
 * so that other consumers do not take it for dead.
 */
import { Clock, Effect, Fiber, type Scope } from "effect"
import type { Position } from "../../../Batch.ts"
import { Pending } from "../../../Connector.ts"
import * as BufferedSource from "../../kit/bufferedSource.ts"
import type * as DeadLetter from "../../kit/DeadLetter.ts"
import * as MessageLetters from "../../kit/messageLetters.ts"
import { ConnectorError, RecordError } from "../../../Errors.ts"
import { classify, compareIds, consumersOf, type Entry, entriesOf, isBusyGroup, pendingIds, readReplyEntries, type RedisClient, send } from "./client.ts"
import { decodeEntry, type DecodeOptions, type StreamRecord } from "./codec.ts"

const CONNECTOR = "redis-streams"
const CLAIMED_SUFFIX = ":claimed"
/** An id above every entry: an `XREADGROUP` at it returns nothing but counts as the consumer's activity. */
const TOP_ID = "18446744073709551615-18446744073709551615"

/** What the reader needs. */
export interface GroupReaderOptions {
  readonly node: string
  readonly stream: string
  readonly group: string
  readonly consumer: string
  readonly start: "0" | "$"
  readonly count: number
  readonly blockMs: number
  readonly claimIdleMs: number
  readonly bufferSize: number
  readonly maxInFlight: number
  readonly decode: DecodeOptions
  /** Where entries that do not decode go (`on_error: dead_letter`); absent: they fail the read. */
  readonly deadLetters?: DeadLetter.Writer | undefined
  /** The connection blocking reads run on. */
  readonly reads: RedisClient
  /** The connection of acknowledgements, claims and group commands (shared: the one now). */
  readonly control: () => RedisClient
}

interface Handle {
  readonly id: string
  readonly claimed: boolean
  /** Entries set aside (dead letters) since the entry before: acknowledged with this one. */
  readonly setAside?: ReadonlyArray<string>
}

interface Saved {
  readonly id: string | null
  readonly claimed: ReadonlyArray<string>
}

const savedOf = (p: Position): Saved => {
  if (p === null || typeof p !== "object" || Array.isArray(p)) return { id: null, claimed: [] }
  const o = p as { readonly [k: string]: Position }
  return {
    id: typeof o.id === "string" ? o.id : null,
    claimed: Array.isArray(o.claimed) ? o.claimed.filter((c): c is string => typeof c === "string") : []
  }
}

const ACK_CHUNK = 10_000

/** Opens the group reader in the scope: a buffered source fed by a background fiber. */
export const make = Effect.fnUntraced(function*(options: GroupReaderOptions): Effect.fn.Return<BufferedSource.BufferedSource<StreamRecord, Handle>, never, Scope.Scope> {
  const { stream, group, control, reads } = options
  const consumer = options.consumer
  const claimer = consumer + CLAIMED_SUFFIX
  const scope = yield* Effect.scope

  /** Highest id read through `consumer`. */
  let high: string | null = null
  /** Claimed entries read (or covered by the restored position) and not yet acknowledged. */
  let claimedOpen = new Set<string>()
  /** Pending entries a restored position covers (or deleted since), acknowledged with the next commit. */
  let covered: Array<string> = []
  let restored: Saved = { id: null, claimed: [] }
  /** Entries set aside (dead letters) since the last one offered. */
  let setAside = new MessageLetters.SetAside<string>()
  let fiber: Fiber.Fiber<void, never> | undefined

  const ack = (ids: ReadonlyArray<string>) =>
    Effect.tryPromise({
      try: async () => {
        for (let i = 0; i < ids.length; i += ACK_CHUNK) await send(control(), ["XACK", stream, group, ...ids.slice(i, i + ACK_CHUNK)])
      },
      catch: classify(CONNECTOR, "ack")
    })

  const buffer: BufferedSource.BufferedSource<StreamRecord, Handle> = BufferedSource.make<StreamRecord, Handle>({
    node: options.node,
    capacity: options.bufferSize,
    // every XREADGROUP waits for room first, then brings at most `count` entries
    overshoot: options.count,
    maxInFlight: options.maxInFlight,
    advance: (handles) => {
      for (const h of handles) {
        if (h.claimed) claimedOpen.add(h.id)
        else if (high === null || compareIds(h.id, high) > 0) high = h.id
      }
      return position()
    },
    acknowledge: (handles) =>
      Effect.suspend(() => {
        const skipped = covered
        const ids = [...skipped]
        for (const h of handles) {
          if (h.setAside !== undefined) for (const id of h.setAside) ids.push(id)
          ids.push(h.id)
        }
        covered = []
        return Effect.andThen(
          ack(ids),
          Effect.sync(() => {
            for (const h of handles) if (h.claimed) claimedOpen.delete(h.id)
            // claimed entries the restored position listed are acknowledged now: positions stop listing them
            for (const id of skipped) claimedOpen.delete(id)
          })
        )
      }),
    seek: (p) =>
      Effect.gen(function*() {
        if (fiber !== undefined) yield* Fiber.interrupt(fiber)
        fiber = undefined
        restored = savedOf(p)
        high = restored.id
        claimedOpen = new Set(restored.claimed)
        covered = []
        setAside = new MessageLetters.SetAside<string>()
      }),
    initial: { id: null, claimed: [] }
  })

  const position = (): Position => ({ id: high, claimed: [...claimedOpen] })

  /**
   * Offers decoded entries, in order; a deleted entry is acknowledged with the next commit. An
   * entry that does not decode fails the source (`false`), or (dead letters) is set aside before
   * the entries after it are offered, and acknowledged with the next entry offered (by the commit
   * of the checkpoint covering that one).
   */
  const deliver = (entries: ReadonlyArray<Entry>, claimed: boolean): Effect.Effect<boolean, ConnectorError | RecordError> =>
    Effect.gen(function*() {
      for (const e of entries) {
        if (e.fields === undefined) {
          covered.push(e.id)
          continue
        }
        const record = decodeEntry(e, e.fields, options.decode)
        if (!(record instanceof Error)) {
          buffer.offer(record, setAside.attach<Handle>({ id: e.id, claimed }))
          continue
        }
        if (options.deadLetters === undefined) {
          buffer.fail(record)
          return false
        }
        const fields: { [k: string]: string } = {}
        for (let i = 0; i + 1 < e.fields.length; i += 2) fields[e.fields[i]] = e.fields[i + 1]
        yield* options.deadLetters([{ record: fields, error: record.message, fields: { stream, id: e.id } }])
        // acknowledged with the next entry handed on: after the checkpoint covering that one
        setAside.add(e.id)
      }
      return true
    })

  const call = (client: RedisClient, operation: string, args: ReadonlyArray<string>) =>
    Effect.tryPromise({ try: () => send(client, args), catch: classify(CONNECTOR, operation) })

  const ensureGroup = Effect.tryPromise({
    try: () => send(control(), ["XGROUP", "CREATE", stream, group, options.start, "MKSTREAM"]).catch((e: unknown) => (isBusyGroup(e) ? undefined : Promise.reject(e))),
    catch: classify(CONNECTOR, "create group")
  })

  /** Reads a consumer's pending entries again, skipping (and acknowledging later) those `skip` says the restored checkpoint covers. */
  const drainPending = (name: string, claimed: boolean, skip: (id: string) => boolean) =>
    Effect.gen(function*() {
      let after = "0"
      for (;;) {
        yield* buffer.room
        const reply = yield* call(reads, "read", ["XREADGROUP", "GROUP", group, name, "COUNT", String(options.count), "STREAMS", stream, after])
        const entries = readReplyEntries(reply)
        if (entries.length === 0) return true
        after = entries[entries.length - 1].id
        const fresh: Array<Entry> = []
        for (const e of entries) {
          if (skip(e.id)) covered.push(e.id)
          else fresh.push(e)
        }
        if (!(yield* deliver(fresh, claimed))) return false
      }
    })

  /** Claims the pending entries of consumers idle for `claim_idle` (and of their `:claimed` consumers). */
  const reclaim = Effect.gen(function*() {
    const consumers = consumersOf(yield* call(control(), "reclaim", ["XINFO", "CONSUMERS", stream, group]))
    const idle = new Map(consumers.map((c) => [c.name, c.idle]))
    for (const c of consumers) {
      if (c.pending === 0 || c.name === consumer || c.name === claimer) continue
      const base = c.name.endsWith(CLAIMED_SUFFIX) ? c.name.slice(0, -CLAIMED_SUFFIX.length) : c.name
      if (base === consumer || (idle.get(base) ?? Number.POSITIVE_INFINITY) < options.claimIdleMs) continue
      for (;;) {
        yield* buffer.room
        const ids = pendingIds(yield* call(control(), "reclaim", ["XPENDING", stream, group, "-", "+", String(options.count), c.name]))
        if (ids.length === 0) break
        // min-idle: an entry another consumer claimed meanwhile is left to it
        const entries = entriesOf(yield* call(control(), "reclaim", ["XCLAIM", stream, group, claimer, String(options.claimIdleMs), ...ids]))
        if (!(yield* deliver(entries, true))) return false
        if (entries.length < ids.length) break
      }
    }
    return true
  })

  const keepAlive = call(reads, "read", ["XREADGROUP", "GROUP", group, consumer, "COUNT", "1", "STREAMS", stream, TOP_ID])

  const run = Effect.gen(function*() {
    yield* ensureGroup
    const saved = restored
    const own = yield* drainPending(consumer, false, (id) => saved.id !== null && compareIds(id, saved.id) <= 0)
    if (!own) return
    const savedClaimed = new Set(saved.claimed)
    if (!(yield* drainPending(claimer, true, (id) => savedClaimed.has(id)))) return
    const claimEvery = Math.max(1000, Math.floor(options.claimIdleMs / 2))
    const aliveEvery = Math.max(500, Math.floor(options.claimIdleMs / 4))
    let lastClaim = Number.NEGATIVE_INFINITY
    for (;;) {
      if (buffer.paused()) {
        const waited = yield* Effect.timeoutOption(buffer.room, aliveEvery)
        if (waited._tag === "None") {
          yield* keepAlive
          continue
        }
      }
      const now = yield* Clock.currentTimeMillis
      if (now - lastClaim >= claimEvery) {
        lastClaim = now
        if (!(yield* reclaim)) return
      }
      const reply = yield* call(reads, "read", [
        "XREADGROUP", "GROUP", group, consumer, "COUNT", String(options.count), "BLOCK", String(options.blockMs), "STREAMS", stream, ">"
      ])
      if (!(yield* deliver(readReplyEntries(reply), false))) return
    }
  }).pipe(
    Effect.catch((e: unknown) => Effect.sync(() => buffer.fail(e instanceof ConnectorError || e instanceof RecordError ? e : classify(CONNECTOR, "read")(e))))
  )

  const startIfIdle = Effect.suspend(() => (fiber !== undefined ? Effect.void : Effect.map(Effect.forkIn(run, scope), (f) => void (fiber = f))))

  const reader = buffer.reader
  const syncRead = reader.readBatchSync!
  return {
    ...buffer,
    reader: {
      ...reader,
      readBatch: (max) => Effect.andThen(startIfIdle, reader.readBatch(max)),
      // the first read starts the background fiber, through `readBatch`
      readBatchSync: (max) => (fiber === undefined ? Pending : syncRead(max))
    }
  }
})
