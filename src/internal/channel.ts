/**
 * Channels between tasks: bounded queues of messages (batches, checkpoint barriers, end markers)
 * with barrier alignment.
 *
 * Every consumer instance has its own channel; each producer instance feeding it sends its
 * batches, then a barrier `n`, then waits until every producer of that channel has sent barrier
 * `n` (or ended) before it sends anything newer. So in the channel's FIFO order, all data before
 * barrier `n` from every producer comes before any data after it: when the consumer has counted
 * barrier `n` from every live producer, its state reflects exactly the input before the barrier
 * (aligned barriers, as in Flink's asynchronous barrier snapshots). The consumer never chooses
 * which producer to read, so alignment cannot deadlock.
 */
import { Deferred, Effect, Exit } from "effect"
import * as Batch from "../Batch.ts"
import { instanceOfKey } from "./keyGroups.ts"

/** A checkpoint barrier. */
export interface Barrier {
  readonly _tag: "Barrier"
  readonly id: number
}

/** One producer instance has finished: it sends nothing more. */
export interface End {
  readonly _tag: "End"
}

/** What flows on a channel. */
export type Message = Batch.Batch<unknown> | Barrier | End

const END: End = { _tag: "End" }

/** One consumer instance's inbound channel. */
export interface Channel {
  /** Queued messages: `buffer[head]` is the oldest. */
  readonly buffer: Array<Message>
  head: number
  readonly capacity: number
  /** Producer instances feeding this channel. */
  readonly producers: number
  /** Producer-side count of barrier `n` sent to this channel. */
  readonly sent: Map<number, number>
  /** Producer instances that have sent their End. */
  ended: number
  /** Producers waiting for barrier `n` to be sent by every producer. */
  readonly aligned: Map<number, Deferred.Deferred<void>>
  /** The consumer, waiting for a message. */
  taker: Deferred.Deferred<void> | undefined
  /** Producers waiting for room. */
  readonly offerers: Array<Deferred.Deferred<void>>
}

/** A consumer task's channels (one per instance) and how batches are routed among them. */
export interface Inbound {
  readonly channels: ReadonlyArray<Channel>
  /**
   * Key routing: records of one key go to the instance that owns the key's group (see
   * keyGroups.ts). Absent: whole batches to the least busy.
   */
  readonly key: ((record: unknown) => unknown) | undefined
  /** The number of key groups keys are hashed to. */
  readonly keyGroups: number
  next: number
}

export const makeChannel = (capacity: number, producers: number): Effect.Effect<Channel> =>
  Effect.sync(() => ({
    buffer: [],
    head: 0,
    capacity,
    producers,
    sent: new Map(),
    ended: 0,
    aligned: new Map(),
    taker: undefined,
    offerers: []
  }))

/** Messages queued on a channel. */
export const sizeOf = (channel: Channel): number => channel.buffer.length - channel.head

/**
 * Takes the oldest message, or `undefined` when the channel is empty. Producers waiting for room
 * are woken only once the channel has drained to half its capacity: they then refill several
 * messages in one go, instead of a producer/consumer switch for every message.
 */
const takeNow = (channel: Channel): Message | undefined => {
  if (channel.head >= channel.buffer.length) return undefined
  const message = channel.buffer[channel.head]
  channel.buffer[channel.head++] = END // drop the reference
  if (channel.head === channel.buffer.length) {
    channel.buffer.length = 0
    channel.head = 0
  }
  if (channel.offerers.length > 0 && sizeOf(channel) <= channel.capacity >> 1) {
    for (const waiter of channel.offerers.splice(0)) Deferred.doneUnsafe(waiter, Exit.void)
  }
  return message
}

/** Suspends until the channel has a message (or returns at once when it has one). */
const awaitMessage = (channel: Channel): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (sizeOf(channel) > 0) return Effect.void
    const waiter = Deferred.makeUnsafe<void>()
    channel.taker = waiter
    return Deferred.await(waiter)
  })

const settle = (channel: Channel, id: number): void => {
  if ((channel.sent.get(id) ?? 0) + channel.ended >= channel.producers) {
    channel.sent.delete(id)
    const waiter = channel.aligned.get(id)
    if (waiter !== undefined) {
      channel.aligned.delete(id)
      Deferred.doneUnsafe(waiter, Exit.void)
    }
  }
}

/**
 * Offers a message: synchronously when the channel has room (waking the consumer if it waits),
 * else suspends until the consumer has drained it to half its capacity, then tries again.
 */
const offer = (channel: Channel, message: Message): Effect.Effect<void> => {
  if (sizeOf(channel) < channel.capacity) {
    channel.buffer.push(message)
    const taker = channel.taker
    if (taker !== undefined) {
      channel.taker = undefined
      Deferred.doneUnsafe(taker, Exit.void)
    }
    return Effect.void
  }
  const waiter = Deferred.makeUnsafe<void>()
  channel.offerers.push(waiter)
  return Effect.andThen(Deferred.await(waiter), Effect.suspend(() => offer(channel, message)))
}

/** Sends a batch to a consumer: split by key hash, or whole to the least busy instance. */
export const sendBatch = (target: Inbound, batch: Batch.Batch<unknown>): Effect.Effect<void> => {
  const n = target.channels.length
  if (n === 1) return offer(target.channels[0], batch)
  if (target.key === undefined) {
    // least filled channel, round robin among ties
    let best = target.next % n
    let bestSize = sizeOf(target.channels[best])
    for (let k = 1; k < n && bestSize > 0; k++) {
      const i = (target.next + k) % n
      const size = sizeOf(target.channels[i])
      if (size < bestSize) {
        best = i
        bestSize = size
      }
    }
    target.next = best + 1
    return offer(target.channels[best], batch)
  }
  const parts: Array<Array<unknown>> = Array.from({ length: n }, () => [])
  const key = target.key
  const groups = target.keyGroups
  const { records, start, end } = batch
  for (let i = start; i < end; i++) parts[instanceOfKey(key(records[i]), groups, n)].push(records[i])
  return Effect.forEach(
    parts,
    (part, i) => (part.length === 0 ? Effect.void : offer(target.channels[i], Batch.withRecords(batch, part))),
    { discard: true }
  )
}

/** Sends a batch to every consumer of a port. */
export const sendAll = (targets: ReadonlyArray<Inbound>, batch: Batch.Batch<unknown>): Effect.Effect<void> =>
  targets.length === 1 ? sendBatch(targets[0], batch) : Effect.forEach(targets, (t) => sendBatch(t, batch), { discard: true })

/**
 * Sends barrier `id` to every channel of every consumer, then waits until each of those channels
 * has barrier `id` from all its live producers.
 */
export const sendBarrier = (targets: ReadonlyArray<Inbound>, id: number): Effect.Effect<void> =>
  Effect.gen(function*() {
    const barrier: Barrier = { _tag: "Barrier", id }
    const waits: Array<Deferred.Deferred<void>> = []
    for (const target of targets) {
      for (const channel of target.channels) {
        yield* offer(channel, barrier)
        channel.sent.set(id, (channel.sent.get(id) ?? 0) + 1)
        let waiter = channel.aligned.get(id)
        if (waiter === undefined) {
          waiter = Deferred.makeUnsafe<void>()
          channel.aligned.set(id, waiter)
        }
        settle(channel, id)
        if (!Deferred.isDoneUnsafe(waiter)) waits.push(waiter)
      }
    }
    for (const w of waits) yield* Deferred.await(w)
  })

/** Sends this producer's End to every channel of every consumer. */
export const sendEnd = (targets: ReadonlyArray<Inbound>): Effect.Effect<void> =>
  Effect.forEach(targets, (target) =>
    Effect.forEach(target.channels, (channel) =>
      Effect.gen(function*() {
        yield* offer(channel, END)
        channel.ended += 1
        for (const id of [...channel.sent.keys()]) settle(channel, id)
        for (const id of [...channel.aligned.keys()]) settle(channel, id)
      }), { discard: true }), { discard: true })

/**
 * The consumer side of one channel: counts barriers and ends, and tells when a barrier is
 * aligned (seen from every live producer) and when all producers have ended.
 */
export interface Receiver {
  /** Next message: a batch, an aligned barrier, or `undefined` when all producers ended. */
  readonly next: Effect.Effect<Batch.Batch<unknown> | Barrier | undefined>
  /**
   * The next message if one is ready now, without an Effect: a batch, an aligned barrier,
   * `undefined` when all producers ended, or {@link EMPTY} when the consumer would have to wait
   * (then `next` waits). Consumers drain what is queued with it and only suspend on `next`.
   */
  readonly poll: () => Batch.Batch<unknown> | Barrier | undefined | typeof EMPTY
}

/** What {@link Receiver.poll} returns when nothing is ready. */
export const EMPTY: unique symbol = Symbol.for("dataflare/channel/empty")

export const receiver = (channel: Channel): Receiver => {
  const arrived = new Map<number, number>()
  let ended = 0
  // barriers that became aligned through an End, to hand out before anything else
  const ready: Array<Barrier> = []
  const poll = (): Batch.Batch<unknown> | Barrier | undefined | typeof EMPTY => {
    while (true) {
      if (ready.length > 0) return ready.shift()
      if (ended >= channel.producers) return undefined
      const message = takeNow(channel)
      if (message === undefined) return EMPTY
      switch (message._tag) {
        case "Batch":
          return message
        case "Barrier": {
          const count = (arrived.get(message.id) ?? 0) + 1
          if (count + ended >= channel.producers) {
            arrived.delete(message.id)
            return message
          }
          arrived.set(message.id, count)
          break
        }
        case "End": {
          ended += 1
          for (const [id, count] of [...arrived].sort((a, b) => a[0] - b[0])) {
            if (count + ended >= channel.producers) {
              arrived.delete(id)
              ready.push({ _tag: "Barrier", id })
            }
          }
          break
        }
      }
    }
  }
  const next: Effect.Effect<Batch.Batch<unknown> | Barrier | undefined> = Effect.suspend(() => {
    const message = poll()
    if (message !== EMPTY) return Effect.succeed(message)
    return Effect.andThen(awaitMessage(channel), next)
  })
  return { next, poll }
}
