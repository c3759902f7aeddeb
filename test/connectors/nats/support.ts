/** Helpers of the nats tests: the local NATS server with JetStream, a stream of its own per test, deleted afterwards. */
import { jetstream, type JetStreamClient, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Effect, type Scope } from "effect"

export const SERVERS = process.env.NATS_SERVERS ?? "127.0.0.1:4222"

export interface Nats {
  readonly nc: NatsConnection
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
}

/** A connection, closed with the scope. */
export const nats: Effect.Effect<Nats, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(async () => {
    const nc = await connect({ servers: SERVERS })
    return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) }
  }),
  (n) => Effect.promise(() => n.nc.close().catch(() => undefined))
)

/** A fresh stream capturing `<name>.>`, deleted with the scope. */
export const stream = (n: Nats, prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const name = `DFTEST_${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`.toUpperCase()
      await n.jsm.streams.add({ name, subjects: [`${name}.>`] })
      return name
    }),
    (name) => Effect.promise(() => n.jsm.streams.delete(name).then(() => undefined, () => undefined))
  )

/** Publishes `count` messages `{ n: i }` (i from `from`) to `<stream>.in`, acknowledged; their sequences. */
export const fill = (n: Nats, name: string, count: number, from = 1, payload?: (i: number) => string) =>
  Effect.promise(async () => {
    const seqs: Array<number> = []
    for (let start = 0; start < count; start += 2000) {
      const sent: Array<Promise<{ seq: number }>> = []
      for (let i = start; i < Math.min(count, start + 2000); i++) {
        sent.push(n.js.publish(`${name}.in`, payload?.(from + i) ?? JSON.stringify({ n: from + i })))
      }
      for (const ack of await Promise.all(sent)) seqs.push(ack.seq)
    }
    return seqs
  })

/** The stream sequence the consumer's acknowledgements reached. */
export const ackFloor = (n: Nats, name: string, consumer: string) =>
  Effect.promise(async () => (await n.jsm.consumers.info(name, consumer)).ack_floor.stream_seq)

/**
 * The consumer's ack floor once it reaches `seq` (or what it is after 10 s). The consumer info is a
 * request of its own to the JetStream API, on another connection than the acknowledgement's: a
 * bounded wait keeps the tests independent of when the server's answer reflects it (a replicated
 * consumer applies an acknowledgement through its log).
 */
export const ackFloorReaching = (n: Nats, name: string, consumer: string, seq: number) =>
  Effect.gen(function*() {
    let floor = yield* ackFloor(n, name, consumer)
    for (let i = 0; i < 200 && floor < seq; i++) {
      yield* Effect.sleep(50)
      floor = yield* ackFloor(n, name, consumer)
    }
    return floor
  })

/** The payloads of a stream's messages on `subject`, in order. */
export const payloads = (n: Nats, name: string) =>
  Effect.promise(async () => {
    const info = await n.jsm.streams.info(name)
    const out: Array<string> = []
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await n.jsm.streams.getMessage(name, { seq }).catch(() => null)
      if (m !== null) out.push(new TextDecoder().decode(m.data))
    }
    return out
  })
