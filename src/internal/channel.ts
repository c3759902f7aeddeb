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
import { Cause, Deferred, Effect, Exit, Queue } from "effect"
import * as Batch from "../Batch.ts"
import { partitionOf } from "./hash.ts"

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
  readonly queue: Queue.Queue<Message, Cause.Done>
  readonly capacity: number
  /** Producer instances feeding this channel. */
  readonly producers: number
  /** Producer-side count of barrier `n` sent to this channel. */
  readonly sent: Map<number, number>
  /** Producer instances that have sent their End. */
  ended: number
  /** Producers waiting for barrier `n` to be sent by every producer. */
  readonly aligned: Map<number, Deferred.Deferred<void>>
}

/** A consumer task's channels (one per instance) and how batches are routed among them. */
export interface Inbound {
  readonly channels: ReadonlyArray<Channel>
  /** Key routing: records of one key go to one instance. Absent: whole batches to the least busy. */
  readonly key: ((record: unknown) => unknown) | undefined
  next: number
}

export const makeChannel = (capacity: number, producers: number): Effect.Effect<Channel> =>
  Effect.map(Queue.bounded<Message, Cause.Done>(capacity), (queue) => ({
    queue,
    capacity,
    producers,
    sent: new Map(),
    ended: 0,
    aligned: new Map()
  }))

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

/** Offers a message: synchronously when the queue has room, else suspends until it has. */
const offer = (queue: Queue.Queue<Message, Cause.Done>, message: Message): Effect.Effect<void> =>
  Queue.offerUnsafe(queue, message) ? Effect.void : Effect.asVoid(Queue.offer(queue, message))

/** Sends a batch to a consumer: split by key hash, or whole to the least busy instance. */
export const sendBatch = (target: Inbound, batch: Batch.Batch<unknown>): Effect.Effect<void> => {
  const n = target.channels.length
  if (n === 1) return offer(target.channels[0].queue, batch)
  if (target.key === undefined) {
    // least filled channel, round robin among ties
    let best = target.next % n
    let bestSize = Queue.sizeUnsafe(target.channels[best].queue)
    for (let k = 1; k < n && bestSize > 0; k++) {
      const i = (target.next + k) % n
      const size = Queue.sizeUnsafe(target.channels[i].queue)
      if (size < bestSize) {
        best = i
        bestSize = size
      }
    }
    target.next = best + 1
    return offer(target.channels[best].queue, batch)
  }
  const parts: Array<Array<unknown>> = Array.from({ length: n }, () => [])
  const key = target.key
  const { records, start, end } = batch
  for (let i = start; i < end; i++) parts[partitionOf(key(records[i]), n)].push(records[i])
  return Effect.forEach(
    parts,
    (part, i) => (part.length === 0 ? Effect.void : offer(target.channels[i].queue, Batch.withRecords(batch, part))),
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
        yield* Queue.offer(channel.queue, barrier)
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
        yield* Queue.offer(channel.queue, END)
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
}

export const receiver = (channel: Channel): Receiver => {
  const arrived = new Map<number, number>()
  let ended = 0
  // barriers that became aligned through an End, to hand out before anything else
  const ready: Array<Barrier> = []
  const handle = (message: Message): Effect.Effect<Batch.Batch<unknown> | Barrier | undefined> => {
    switch (message._tag) {
      case "Batch":
        return Effect.succeed(message)
      case "Barrier": {
        const count = (arrived.get(message.id) ?? 0) + 1
        if (count + ended >= channel.producers) {
          arrived.delete(message.id)
          return Effect.succeed(message)
        }
        arrived.set(message.id, count)
        return next
      }
      case "End": {
        ended += 1
        for (const [id, count] of [...arrived].sort((a, b) => a[0] - b[0])) {
          if (count + ended >= channel.producers) {
            arrived.delete(id)
            ready.push({ _tag: "Barrier", id })
          }
        }
        return next
      }
    }
  }
  const next: Effect.Effect<Batch.Batch<unknown> | Barrier | undefined> = Effect.suspend(() => {
    if (ready.length > 0) return Effect.succeed(ready.shift())
    if (ended >= channel.producers) return Effect.succeed(undefined)
    // a message already queued is taken synchronously (no Effect per message on the hot path)
    const taken = Queue.takeUnsafe(channel.queue)
    if (taken !== undefined && Exit.isSuccess(taken)) return handle(taken.value)
    return Effect.flatMap(Queue.take(channel.queue), handle).pipe(
      Effect.catchIf(Cause.isDone, () => Effect.succeed(undefined))
    )
  })
  return { next }
}
