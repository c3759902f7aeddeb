/**
 * Helpers of the RabbitMQ tests against the local broker (127.0.0.1:5672, guest/guest): a queue
 * with a random name per test (deleted when the test's scope closes), publishing, counting and
 * draining it with plain amqplib.
 */
import amqp from "amqplib"
import { Effect, Redacted, type Scope } from "effect"

/** The local broker. */
export const URL = process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672"

/** The URL as the connectors' configs decode it. */
export const url = Redacted.make(URL)

/** A plain amqplib connection, closed with the scope. */
export const admin: Effect.Effect<amqp.ChannelModel, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(async () => {
    const c = await amqp.connect(URL)
    c.on("error", () => undefined)
    return c
  }),
  (c) => Effect.promise(() => c.close().catch(() => undefined))
)

/** A durable queue named `prefix-<random>` (declared with `args`), deleted when the scope closes. */
export const withQueue = (prefix: string, args?: { readonly [key: string]: unknown }): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const name = `${prefix}-${Math.random().toString(36).slice(2, 10)}`
      const c = yield* admin
      yield* Effect.promise(async () => {
        const ch = await c.createChannel()
        await ch.assertQueue(name, { durable: true, ...(args !== undefined ? { arguments: args } : {}) })
        await ch.close()
      })
      return name
    }),
    (name) =>
      Effect.promise(async () => {
        const c = await amqp.connect(URL)
        try {
          const ch = await c.createChannel()
          await ch.deleteQueue(name)
        } finally {
          await c.close().catch(() => undefined)
        }
      })
  )

/**
 * A durable queue named `prefix-<random>` taking at most `max` messages (`x-overflow:
 * reject-publish`: the broker nacks the rest), deleted when the scope closes.
 */
export const withBoundedQueue = (prefix: string, max: number): Effect.Effect<string, never, Scope.Scope> =>
  withQueue(prefix, { "x-max-length": max, "x-overflow": "reject-publish" })

/** Publishes `bodies` to `queue` (confirmed), each with message id `<prefix><index>` when `ids` is given. */
export const publish = (queue: string, bodies: ReadonlyArray<string>, ids?: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const c = yield* admin
    yield* Effect.promise(async () => {
      const ch = await c.createConfirmChannel()
      bodies.forEach((b, i) => void ch.sendToQueue(queue, Buffer.from(b), { persistent: true, ...(ids === undefined ? {} : { messageId: `${ids}${i}` }) }))
      await ch.waitForConfirms()
      await ch.close()
    })
  })

/**
 * Messages ready in `queue` once it has no consumer left (waited for, at most 10 s): a reader's or
 * a process's consumer ends when its channel or connection closes, and the broker puts back what
 * it had not acknowledged when it lets the consumer go — asked before that, the queue counts those
 * messages as neither ready nor gone.
 */
export const readyIdle = (queue: string): Effect.Effect<number, never, Scope.Scope> =>
  Effect.gen(function*() {
    const c = yield* admin
    return yield* Effect.promise(async () => {
      const ch = await c.createChannel()
      try {
        for (let i = 0; ; i++) {
          const q = await ch.checkQueue(queue)
          if (q.consumerCount === 0) return q.messageCount
          if (i >= 200) throw new Error(`queue ${queue} still has ${q.consumerCount} consumers after 10 s`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      } finally {
        await ch.close()
      }
    })
  })

/** Messages ready in `queue` (not delivered to a consumer). */
export const ready = (queue: string): Effect.Effect<number, never, Scope.Scope> =>
  Effect.gen(function*() {
    const c = yield* admin
    return yield* Effect.promise(async () => {
      const ch = await c.createChannel()
      const q = await ch.checkQueue(queue)
      await ch.close()
      return q.messageCount
    })
  })

/** Takes every message now in `queue` (acknowledging them), as text. */
export const drain = (queue: string): Effect.Effect<Array<string>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const c = yield* admin
    return yield* Effect.promise(async () => {
      const ch = await c.createChannel()
      const out: Array<string> = []
      for (;;) {
        const m = await ch.get(queue, { noAck: true })
        if (m === false) break
        out.push(m.content.toString("utf8"))
      }
      await ch.close()
      return out
    })
  })

/** Every message now in `queue`, as text, left in the queue (taken unacknowledged, then requeued in order). */
export const browse = (queue: string): Effect.Effect<Array<string>> =>
  Effect.promise(async () => {
    const c = await amqp.connect(URL)
    try {
      const ch = await c.createChannel()
      const out: Array<string> = []
      for (;;) {
        const m = await ch.get(queue, { noAck: false })
        if (m === false) break
        out.push(m.content.toString("utf8"))
      }
      // closing the channel requeues what it took, in its original order
      await ch.close()
      return out
    } finally {
      await c.close().catch(() => undefined)
    }
  })
