/**
 * The `nats` sink against the local NATS server: what a replay after a restore publishes again is
 * dropped by the server (Nats-Msg-Id), a run from scratch is not taken for a replay, codecs.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type { OpenContext } from "../../../src/Connector.ts"
import { SinkConfig } from "../../../src/connectors/nats/NatsConfig.ts"
import { NatsSink } from "../../../src/connectors/nats/NatsSink.ts"
import { nats, payloads, SERVERS, stream } from "./support.ts"

const open = (config: { readonly [k: string]: unknown }, context: Partial<OpenContext> = {}) =>
  Effect.flatMap(Schema.decodeUnknownEffect(SinkConfig)({ servers: SERVERS, ...config }), (decoded) =>
    NatsSink.open(decoded, { workflow: "wf", node: "out", batchSize: 1000, instance: 0, parallelism: 1, ...context }))

const records = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ n: from + i }))

describe("nats sink", () => {
  it.live("a replay after a restore is de-duplicated by the server: every record once", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "sinkdedupe")
      const subject = `${name}.out`
      // run 1: checkpoint 1 after 100 records, then 50 more, then a crash
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* open({ subject }, { fromScratch: true })
        yield* w.restore!(undefined)
        yield* w.writeBatch(Batch.make(records(1, 60)))
        yield* w.writeBatch(Batch.make(records(61, 100)))
        yield* w.preCommit!(1)
        yield* w.commit!(1)
        yield* w.writeBatch(Batch.make(records(101, 150)))
      }))
      // run 2 restores checkpoint 1 and replays from record 101, in other batch sizes
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* open({ subject })
        yield* w.restore!(1)
        yield* w.writeBatch(Batch.make(records(101, 130)))
        yield* w.writeBatch(Batch.make(records(131, 180)))
      }))
      const got = (yield* payloads(n, name)).map((p) => (JSON.parse(p) as { n: number }).n)
      assert.deepStrictEqual(got, records(1, 180).map((r) => r.n))
    })), 60_000)

  it.live("a run from scratch starts a new lineage: its records are not taken for replays", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "sinklineage")
      const subject = `${name}.out`
      for (let run = 0; run < 2; run++) {
        yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* open({ subject }, { fromScratch: true })
          yield* w.restore!(undefined)
          yield* w.writeBatch(Batch.make(records(1, 20)))
        }))
      }
      assert.strictEqual((yield* payloads(n, name)).length, 40)
    })), 60_000)

  it.live("a second run with no checkpoint to restore (a new state directory) publishes its records again, not dropped as duplicates", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "sinkrerun")
      const subject = `${name}.out`
      // run 1 completes a checkpoint; run 2 is the same workflow started afresh (not --from-scratch,
      // just no checkpoint of its own): within the duplicate window, with the same record indexes
      for (let run = 0; run < 2; run++) {
        yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* open({ subject })
          yield* w.restore!(undefined)
          yield* w.writeBatch(Batch.make(records(1, 20)))
          yield* w.preCommit!(1)
          yield* w.commit!(1)
        }))
      }
      assert.strictEqual((yield* payloads(n, name)).length, 40)
    })), 60_000)

  it.live("a different record at a replayed place is published, not dropped (the id carries a payload hash)", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "sinkorder")
      const subject = `${name}.out`
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* open({ subject }, { fromScratch: true })
        yield* w.restore!(undefined)
        yield* w.preCommit!(1)
        yield* w.writeBatch(Batch.make([{ n: 1 }, { n: 2 }]))
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* open({ subject })
        yield* w.restore!(1)
        // the replay came in another order (a merge upstream): nothing may be lost
        yield* w.writeBatch(Batch.make([{ n: 2 }, { n: 1 }]))
      }))
      const got = (yield* payloads(n, name)).map((p) => (JSON.parse(p) as { n: number }).n)
      assert.deepStrictEqual([...new Set(got)].sort(), [1, 2])
    })), 60_000)

  it.live("codec string publishes the record's data as it is", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "sinkstring")
      const w = yield* open({ subject: `${name}.out`, codec: "string" }, { fromScratch: true })
      yield* w.restore!(undefined)
      yield* w.writeBatch(Batch.make([{ subject: "x", data: "plain text" }, { other: 1 }]))
      assert.deepStrictEqual(yield* payloads(n, name), ["plain text", "{\"other\":1}"])
    })), 60_000)

  it.live("a subject no stream captures fails check; an unreachable server fails check in bounded time", () =>
    Effect.gen(function*() {
      const none = yield* Schema.decodeUnknownEffect(SinkConfig)({ servers: SERVERS, subject: "dftest.nobody.listens" })
      const refused = yield* Effect.flip(NatsSink.check(none))
      assert.strictEqual(refused._tag, "ConnectorError")
      const down = yield* Schema.decodeUnknownEffect(SinkConfig)({ servers: "127.0.0.1:1", token: "tok-s3cret", subject: "x" })
      const error = yield* Effect.flip(NatsSink.check(down))
      assert.strictEqual(error.reason._tag, "ConnectionError")
      assert.notInclude(error.message, "tok-s3cret")
    }), 60_000)
})
