/**
 * The buffered source: what a connector over a push-based (or background-polled) client needs to
 * be a {@link SourceReader}, so that the connector is only its client calls.
 *
 * - **A bounded buffer.** The client's callback (or a background fiber polling the server)
 *   hands records over with {@link BufferedSource.offer}, each with its *handle* (what the broker
 *   needs to acknowledge it: a stream entry id, a JetStream message, a delivery tag). When
 *   `capacity` records are buffered the buffer calls `pause` (or {@link BufferedSource.room}
 *   waits); when the pipeline has taken it down to `lowWater`, `resume`. So a pipeline slower than
 *   the broker slows the broker down instead of filling memory: memory holds at most `capacity`
 *   records (plus what the client delivers after `pause`, one fetch at most) and the handles of
 *   `maxInFlight` records read but not yet acknowledged.
 * - **`readBatch` waits without spinning.** With nothing buffered it waits on a `Deferred`
 *   completed by the next `offer`, failure, end or commit, at most `lingerMs`, and then returns an
 *   empty batch (so the runtime can inject a checkpoint barrier). `readBatchSync` answers at once
 *   whenever records are buffered.
 * - **Acknowledge after the checkpoint, in order.** Every batch read is registered in an
 *   {@link OffsetTracker} with a sequence number, and its position (the connector's, from
 *   `advance`) is remembered. `commit(position)` — called once a checkpoint covering that
 *   position completed — acknowledges the batches it covers, and the connector's `acknowledge`
 *   receives the handles of the contiguous prefix only, in read order: never a record past one
 *   that is not covered yet, whatever order the commits arrive in.
 *
 * - **Units (`boundary`).** A record may be part of a larger unit that a position must never split,
 *   such as the changes of one database transaction (CDC positions are transaction-end LSNs: a
 *   checkpoint between two parts of a transaction, restored, would write the first part twice).
 *   With `boundary`, a batch ends only after a record for which `boundary` is true — unless the
 *   unit in front alone fills the batch (`max` records) or the buffer (the client is paused, so
 *   its end cannot arrive): then the batch ends *inside* the unit, at `max` records. Such a batch
 *   is not made larger than `max` instead, because a unit may be larger than memory. Its position
 *   (from `advance`, whose last handle is then not a boundary) must say how far into the unit the
 *   reader is — e.g. the last boundary's position plus the number of records of the unit read —
 *   so that a restore re-reads the unit from its start and skips exactly those: neither the
 *   previous boundary alone (the part read would be written twice) nor the unit's end (the rest
 *   would be lost). `acknowledge` receives the handles of a mid-unit batch too: acknowledging
 *   upstream only up to the last boundary among them is the connector's part.
 * - **Bytes (`weight`, `maxWeight`).** With a `weight` per record (its size in bytes, say), the
 *   client is also paused while the buffered records weigh `maxWeight` or more, and resumed once
 *   they weigh at most half of it: memory is bounded in bytes whatever the records' sizes.
 *
 * **Gotchas**: positions must differ after every non-empty batch (they are how a commit finds
 * the batches it covers); a position the reader did not produce in this run (a restored one)
 * acknowledges nothing: what the broker redelivers after a restart is the connector's to skip
 * (see the `redis-streams` and `nats` connectors).
 *
 * @example
 * ```ts
 * const buffer = BufferedSource.make<Message, string>({
 *   node: "events", capacity: 10_000,
 *   advance: (ids) => ({ id: ids[ids.length - 1] }),
 *   acknowledge: (ids) => Effect.promise(() => client.ack(ids)),
 *   seek: () => Effect.void, initial: null
 * })
 * client.on("message", (m) => buffer.offer(decode(m), m.id))
 * return buffer.reader
 * ```
 * @since 0.4.0
 */
import { Clock, Deferred, Effect, Option } from "effect"
import * as Batch from "../../Batch.ts"
import type { Position } from "../../Batch.ts"
import { Pending, type ReadAhead, type SourceReader } from "../../Connector.ts"
import type { ConnectorError, RecordError } from "../../Errors.ts"
import * as OffsetTracker from "../../OffsetTracker.ts"

/**
 * Options of {@link make}.
 *
 * @category models
 * @since 0.4.0
 */
export interface Options<H, A = unknown> {
  /** The workflow node, for batch origins. */
  readonly node: string
  /** Records buffered before the client is paused. */
  readonly capacity: number
  /** The client is resumed once the buffer holds at most this many records (default `capacity / 2`). */
  readonly lowWater?: number
  /**
   * Records read but not yet covered by a completed checkpoint: at this many, reading stops
   * (the buffer fills, the client is paused) until a checkpoint completes. Default `capacity * 100`.
   */
  readonly maxInFlight?: number
  /** How long `readBatch` waits for a record before it returns an empty batch (default 100 ms). */
  readonly lingerMs?: number
  /**
   * Records the client may still deliver after `pause` (one fetch, a window, a socket chunk's
   * rows): the reader's read-ahead bound is `capacity + overshoot` (default 0, for a client that
   * stops at once or a poller that waits on {@link BufferedSource.room} before each fetch of one).
   */
  readonly overshoot?: number
  /** Stop the client delivering (called once per crossing of `capacity`). */
  readonly pause?: () => void
  /** Let the client deliver again. */
  readonly resume?: () => void
  /**
   * True when a position may be taken after the record with this handle (the last record of a
   * unit, e.g. of a transaction). Default: after every record. See the module documentation.
   */
  readonly boundary?: (handle: H) => boolean
  /** The weight of a record for `maxWeight`, e.g. its size in bytes (default: none). */
  readonly weight?: (record: A, handle: H) => number
  /** With `weight`: the client is paused while the buffered records weigh this much or more. */
  readonly maxWeight?: number
  /**
   * The connector's position after the records whose handles are given (read order), called once
   * per non-empty batch. With `boundary`, the last handle may be inside a unit (see the module doc).
   */
  readonly advance: (handles: ReadonlyArray<H>) => Position
  /** Acknowledges records upstream: the handles of a contiguous prefix of what was read, in read order. */
  readonly acknowledge: (handles: ReadonlyArray<H>) => Effect.Effect<void, ConnectorError>
  /** The connector's part of `seek` (restart its client at `position`); the buffer is emptied first. */
  readonly seek: (position: Position) => Effect.Effect<void, ConnectorError>
  /** The position before anything is read. */
  readonly initial: Position
}

/**
 * A buffered source: the side the client feeds, and the {@link SourceReader} the runtime reads.
 *
 * @category models
 * @since 0.4.0
 */
export interface BufferedSource<A, H> {
  /** Hands one record and its handle over (never blocks; pauses the client at `capacity`). */
  readonly offer: (record: A, handle: H) => void
  /** The client failed: `readBatch` fails with `error` once the records buffered before it are read. */
  readonly fail: (error: ConnectorError | RecordError) => void
  /** A bounded input ended: `readBatch` returns `undefined` once the buffer is empty. */
  readonly end: () => void
  /** Waits until the buffer is below `capacity` (for a background fiber that polls the server). */
  readonly room: Effect.Effect<void>
  /** True while the client should not deliver. */
  readonly paused: () => boolean
  /** Records buffered now. */
  readonly buffered: () => number
  /** The weight of the records buffered now (0 without a `weight` option). */
  readonly bufferedWeight: () => number
  /** Records read and not yet acknowledged. */
  readonly inFlight: () => number
  /** Records buffered now, the most buffered at once since open or the last seek, and `capacity + overshoot`. */
  readonly readAhead: () => ReadAhead
  /** The reader: `readBatch`, `readBatchSync`, `position`, `seek`, `commit`, `readAhead`. */
  readonly reader: SourceReader<A>
}

interface Flight<H> {
  readonly seq: number
  readonly handles: ReadonlyArray<H>
}

/**
 * A buffered source (see the module documentation).
 *
 * @category constructors
 * @since 0.4.0
 */
export const make = <A, H>(options: Options<H, A>): BufferedSource<A, H> => {
  const capacity = Math.max(1, options.capacity)
  const lowWater = Math.min(capacity - 1, options.lowWater ?? Math.floor(capacity / 2))
  const maxInFlight = Math.max(1, options.maxInFlight ?? capacity * 100)
  const linger = options.lingerMs ?? 100
  const isBoundary = options.boundary
  const weigh = options.weight
  const maxWeight = options.maxWeight ?? Number.POSITIVE_INFINITY

  let records: Array<A> = []
  let handles: Array<H> = []
  // with `weight`: the weight of each buffered record (parallel to `records`) and their sum
  let weights: Array<number> = []
  let weightBuffered = 0
  let head = 0
  // the most records buffered at once since the reader opened or seeked (its read-ahead's peak)
  let peak = 0
  const bound = capacity + Math.max(0, options.overshoot ?? 0)
  // with `boundary`: the index in `records` of the last boundary offered (below `head`: none buffered)
  let lastBoundary = -1
  // the `max` of the `readBatch` waiting: an offer that cannot make its batch does not wake it
  let wanted = 0
  let isPaused = false
  let failure: ConnectorError | RecordError | undefined
  let ended = false
  let waiter: Deferred.Deferred<void> | undefined
  let roomWaiter: Deferred.Deferred<void> | undefined

  // read and not yet acknowledged upstream, oldest first
  let tracker = OffsetTracker.make({ maxInFlight: Number.MAX_SAFE_INTEGER })
  let flights: Array<Flight<H>> = []
  let flightHead = 0
  let inFlightRecords = 0
  let seq = 0
  // position (as JSON) -> sequence number of the batch it follows
  let marks = new Map<string, number>()
  let position: Position = options.initial

  const buffered = () => records.length - head
  /** Empties the buffer. */
  const clear = () => {
    records = []
    handles = []
    weights = []
    weightBuffered = 0
    lastBoundary = -1
    head = 0
  }
  const wake = () => {
    const w = waiter
    waiter = undefined
    if (w !== undefined) Deferred.doneUnsafe(w, Effect.void)
  }
  const wakeRoom = () => {
    const w = roomWaiter
    roomWaiter = undefined
    if (w !== undefined) Deferred.doneUnsafe(w, Effect.void)
  }
  const full = () => buffered() >= capacity || weightBuffered >= maxWeight
  const maybeResume = () => {
    if (isPaused && buffered() <= lowWater && weightBuffered <= maxWeight / 2) {
      isPaused = false
      options.resume?.()
      wakeRoom()
    }
  }

  const offer = (record: A, handle: H) => {
    records.push(record)
    handles.push(handle)
    if (weigh !== undefined) {
      const w = weigh(record, handle)
      weights.push(w)
      weightBuffered += w
    }
    if (isBoundary?.(handle)) lastBoundary = records.length - 1
    if (records.length - head > peak) peak = records.length - head
    if (!isPaused && full()) {
      isPaused = true
      options.pause?.()
    }
    if (waiter !== undefined && (isBoundary === undefined || lastBoundary === records.length - 1 || buffered() >= wanted || isPaused)) wake()
  }

  /** Takes up to `max` records as a batch; `undefined` when none can be taken now. */
  const take = (max: number): Batch.Batch<A> | undefined => {
    const n = cut(Math.min(max, buffered(), maxInFlight - inFlightRecords), max)
    if (n <= 0) return undefined
    if (weigh !== undefined) {
      for (let i = head; i < head + n; i++) weightBuffered -= weights[i]
    }
    const taken = head === 0 && n === records.length ? records : records.slice(head, head + n)
    const takenHandles = head === 0 && n === handles.length ? handles : handles.slice(head, head + n)
    head += n
    if (head === records.length) {
      clear()
    } else if (head > 4096 && head * 2 > records.length) {
      records = records.slice(head)
      handles = handles.slice(head)
      if (weigh !== undefined) weights = weights.slice(head)
      lastBoundary -= head
      head = 0
    }
    seq += 1
    tracker.register(seq)
    flights.push({ seq, handles: takenHandles })
    inFlightRecords += n
    position = options.advance(takenHandles)
    marks.set(JSON.stringify(position), seq)
    maybeResume()
    return Batch.make(taken, { origin: { source: options.node, position }, readAt: Date.now() })
  }

  /**
   * With `boundary`: how many of the `n` records that may be taken end at the last boundary among
   * them; when there is none, `n` if the unit in front alone fills the batch (`max`) or the
   * buffer, or nothing else can arrive (end, failure) — else 0: wait for the unit's end.
   */
  const cut = (n: number, max: number): number => {
    if (isBoundary === undefined || n <= 0) return n
    if (lastBoundary >= head) {
      if (lastBoundary < head + n) return lastBoundary - head + 1
      for (let i = head + n - 1; i >= head; i--) if (isBoundary(handles[i])) return i - head + 1
    }
    return n >= max || isPaused || full() || ended || failure !== undefined ? n : 0
  }

  const readBatchSync = (max: number): Batch.Batch<A> | undefined | typeof Pending => {
    const batch = take(max)
    if (batch !== undefined) return batch
    if (failure !== undefined && buffered() === 0) throw failure
    if (ended && buffered() === 0) return undefined
    return Pending
  }

  // Waits for offers until something can be taken or `lingerMs` passed: an offer that does not
  // make a batch (a unit still arriving) waits again instead of returning an empty batch early.
  const readBatch = (max: number): Effect.Effect<Batch.Batch<A> | undefined, ConnectorError | RecordError> =>
    Effect.suspend(() => {
      const now = answer(max)
      if (now !== Pending) return now
      const wait = (deadline: number): Effect.Effect<Batch.Batch<A> | undefined, ConnectorError | RecordError> =>
        Effect.flatMap(Clock.currentTimeMillis, (time) => {
          const w = Deferred.makeUnsafe<void>()
          waiter = w
          wanted = max
          return Deferred.await(w).pipe(
            Effect.timeoutOption(Math.max(0, deadline - time)),
            Effect.flatMap((woken) => {
              if (waiter === w) waiter = undefined
              const later = answer(max)
              if (later !== Pending) return later
              return Option.isSome(woken) ? wait(deadline) : Effect.succeed(Batch.empty<A>({ origin: { source: options.node, position } }))
            })
          )
        })
      return Effect.flatMap(Clock.currentTimeMillis, (time) => wait(time + linger))
    })

  const answer = (max: number): Effect.Effect<Batch.Batch<A> | undefined, ConnectorError | RecordError> | typeof Pending => {
    const batch = take(max)
    if (batch !== undefined) return Effect.succeed(batch)
    if (failure !== undefined && buffered() === 0) return Effect.fail(failure)
    if (ended && buffered() === 0) return Effect.succeed(undefined)
    return Pending
  }

  const commit = (p: Position): Effect.Effect<void, ConnectorError> =>
    Effect.suspend(() => {
      const upTo = marks.get(JSON.stringify(p))
      if (upTo === undefined) return Effect.void
      for (let i = flightHead; i < flights.length && flights[i].seq <= upTo; i++) tracker.ack(flights[i].seq)
      const through = tracker.committable()
      if (through === undefined) return Effect.void
      const released: Array<H> = []
      while (flightHead < flights.length && flights[flightHead].seq <= through) {
        const f = flights[flightHead++]
        for (let i = 0; i < f.handles.length; i++) released.push(f.handles[i])
      }
      if (flightHead > 1024 && flightHead * 2 > flights.length) {
        flights = flights.slice(flightHead)
        flightHead = 0
      }
      for (const [key, s] of marks) if (s <= through) marks.delete(key)
      inFlightRecords -= released.length
      // reading may have stopped at `maxInFlight`
      wake()
      return released.length === 0 ? Effect.void : options.acknowledge(released)
    })

  const seek = (p: Position): Effect.Effect<void, ConnectorError> =>
    Effect.suspend(() => {
      clear()
      failure = undefined
      ended = false
      tracker = OffsetTracker.make({ maxInFlight: Number.MAX_SAFE_INTEGER })
      flights = []
      flightHead = 0
      inFlightRecords = 0
      marks = new Map()
      position = p
      peak = 0
      maybeResume()
      return options.seek(p)
    })

  const readAhead = (): ReadAhead => ({ held: buffered(), peak, bound })

  return {
    offer,
    readAhead,
    fail: (error) => {
      if (failure === undefined) failure = error
      wake()
    },
    end: () => {
      ended = true
      wake()
    },
    room: Effect.suspend(() => {
      if (!isPaused) return Effect.void
      const w = roomWaiter ?? Deferred.makeUnsafe<void>()
      roomWaiter = w
      return Deferred.await(w)
    }),
    paused: () => isPaused,
    buffered,
    bufferedWeight: () => weightBuffered,
    inFlight: () => inFlightRecords,
    reader: {
      readBatch,
      readBatchSync,
      position: Effect.sync(() => position),
      seek,
      commit,
      readAhead
    }
  }
}

/**
 * An estimate of the memory a decoded record takes, in bytes, for the `weight` option: strings
 * count two bytes a character, other scalars eight, plus a small overhead per object, array and
 * field. Cheap and deterministic rather than exact (the point is a bound on memory, not a figure).
 *
 * @example
 * ```ts
 * BufferedSource.approximateBytes({ id: 1, name: "ab" }) // 16 + (16 + 8) + (16 + 4) = 60
 * ```
 * @category weights
 * @since 0.4.0
 */
export const approximateBytes = (value: unknown): number => {
  if (typeof value === "string") return 2 * value.length
  if (value === null || typeof value !== "object") return 8
  if (value instanceof Uint8Array) return value.byteLength
  if (value instanceof Date) return 8
  let size = 16
  if (Array.isArray(value)) {
    for (const item of value) size += 8 + approximateBytes(item)
    return size
  }
  for (const key in value) size += 16 + approximateBytes((value as Record<string, unknown>)[key])
  return size
}
