/**
 * The `nats` source against the local NATS server (JetStream): the conformance suite (with
 * `upstream`: the consumer's ack floor reaches a committed position's sequence, and not the next
 * one, only with the commit), acknowledgement only after a checkpoint, exact resume from a checkpoint, bounded read-ahead,
 * malformed payloads, an unreachable server.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import type { Position } from "../../../src/Batch.ts"
import { SourceConfig } from "../../../src/connectors/nats/NatsConfig.ts"
import { NatsSource } from "../../../src/connectors/nats/NatsSource.ts"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { numbers, range, readN } from "../brokers/reading.ts"
import { untilLag } from "../sourceLag.ts"
import { ackFloor, ackFloorReaching, fill, nats, SERVERS, stream } from "./support.ts"

const open = (config: { readonly [k: string]: unknown }) =>
  Effect.flatMap(Schema.decodeUnknownEffect(SourceConfig)({ servers: SERVERS, consumer: "c", ...config }), (decoded) =>
    NatsSource.open(decoded, { node: "events", batchSize: 1000, instance: 0, parallelism: 1 }))

/** True when the consumer's ack floor (`acknowledged`, a stream sequence) reached the position's `seq`. */
const acknowledgedThrough = (acknowledged: unknown, position: Position) =>
  typeof acknowledged === "number" && typeof position === "object" && position !== null && "seq" in position && typeof position.seq === "number" &&
  acknowledged >= position.seq

sourceSuite(
  "nats source conformance",
  Effect.gen(function*() {
    const n = yield* nats
    const name = yield* stream(n, "suite")
    yield* fill(n, name, 120)
    return {
      open: open({ stream: name, batch_size: 10 }),
      expected: range(1, 120).map((i) => ({ n: i })),
      acknowledged: ackFloor(n, name, "c")
    }
  }),
  {
    batchSizes: [1, 7, 1000],
    seekTargets: 10,
    unbounded: { idleMs: 1500, acknowledges: true },
    // acknowledged through a position: the consumer's ack floor (a stream sequence) is at its `seq` or beyond
    upstream: { covers: acknowledgedThrough, settleMs: 1000 },
    misconfigured: open({ stream: "BROKERS_NO_SUCH_STREAM" }),
    timeout: 120_000
  }
)

describe("nats source", () => {
  it.live("reports as lag the messages not yet read (pending on the server plus read ahead)", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "lag")
      yield* fill(n, name, 100)
      const reader = yield* open({ stream: name, batch_size: 10 })
      assert.isUndefined(reader.lag?.(), "unknown before the first message")
      const first = yield* readN(reader, 30, 10)
      assert.deepStrictEqual(numbers(first.records), range(1, 30))
      assert.deepStrictEqual(yield* untilLag(reader, 70), { value: 70, unit: "records" })
      yield* fill(n, name, 5, 101)
      assert.deepStrictEqual(yield* untilLag(reader, 75), { value: 75, unit: "records" })
      yield* readN(reader, 75, 25)
      assert.deepStrictEqual(yield* untilLag(reader, 0), { value: 0, unit: "records" })
    })), 120_000)

  it.live("acknowledges only when a checkpoint covering the messages completes", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "ack")
      yield* fill(n, name, 50)
      const reader = yield* open({ stream: name })
      const first = yield* readN(reader, 20, 20)
      const second = yield* readN(reader, 30, 30)
      assert.deepStrictEqual(numbers([...first.records, ...second.records]), range(1, 50))
      assert.strictEqual(yield* ackFloor(n, name, "c"), 0, "nothing acknowledged by reading")
      yield* reader.commit(first.position)
      assert.strictEqual(yield* ackFloorReaching(n, name, "c", 20), 20)
      yield* reader.commit(second.position)
      assert.strictEqual(yield* ackFloorReaching(n, name, "c", 50), 50)
    })), 60_000)

  it.live("a restored reader starts right after the checkpoint's message, whatever was acknowledged", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "resume")
      yield* fill(n, name, 100)
      const checkpoint = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* open({ stream: name })
        const a = yield* readN(reader, 40, 40)
        yield* readN(reader, 20, 20)
        return a.position
      }))
      yield* fill(n, name, 10, 101)
      const reader = yield* open({ stream: name })
      yield* reader.seek(checkpoint)
      const rest = yield* readN(reader, 70)
      assert.deepStrictEqual(numbers(rest.records), range(41, 110))
      yield* reader.commit(rest.position)
      assert.strictEqual(yield* ackFloorReaching(n, name, "c", 110), 110)
      // a reader opened without a position goes on after what was acknowledged
      yield* fill(n, name, 5, 111)
      const next = yield* open({ stream: name })
      assert.deepStrictEqual(numbers((yield* readN(next, 5)).records), range(111, 115))
    })), 60_000)

  it.live("reads ahead a bounded number of messages when the pipeline does not keep up", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "backpressure")
      yield* fill(n, name, 20_000)
      const reader = yield* open({ stream: name, batch_size: 50, buffer_size: 200 })
      yield* readN(reader, 10, 10)
      yield* Effect.sleep(1500)
      const info = yield* Effect.promise(() => n.jsm.consumers.info(name, "c"))
      assert.ok(info.delivered.stream_seq <= 10 + 200 + 3 * 50, `delivered ${info.delivered.stream_seq} messages`)
      const rest = yield* readN(reader, 19_990, 1000)
      assert.deepStrictEqual(numbers(rest.records), range(11, 20_000))
    })), 120_000)

  it.live("a payload that is not JSON fails the read naming the message", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "malformed")
      const seqs = yield* fill(n, name, 3, 1, (i) => (i === 2 ? "{oops" : JSON.stringify({ n: i })))
      const reader = yield* open({ stream: name })
      assert.deepStrictEqual(numbers((yield* readN(reader, 1)).records), [1])
      const error = yield* Effect.flip(readN(reader, 2))
      assert.include(error.message, `message ${seqs[1]} of stream '${name}'`)
      assert.match(error.message, /not json/i)
    })), 60_000)

  it.live("with on_error: dead_letter, a payload that is not JSON is set aside with its sequence and acknowledged with the messages after it", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "deadletter")
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "df-nats-dl-"))),
        (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
      )
      const path = join(dir, "dead.ndjson")
      const seqs = yield* fill(n, name, 4, 1, (i) => (i === 2 ? "{oops" : JSON.stringify({ n: i })))
      const reader = yield* open({ stream: name, on_error: "dead_letter", dead_letter: { path } })
      const got = yield* readN(reader, 3)
      assert.deepStrictEqual(numbers(got.records), [1, 3, 4])
      const letters = (yield* Effect.promise(() => readFile(path, "utf8"))).trim().split("\n").map((l) => JSON.parse(l) as { seq: number; stream: string; record: string })
      assert.deepStrictEqual(letters.map((l) => [l.seq, l.stream, l.record]), [[seqs[1], name, "{oops"]])
      yield* reader.commit(got.position)
      assert.strictEqual(yield* ackFloorReaching(n, name, "c", seqs[3]!), seqs[3])
    })), 60_000)

  it.live("a missing stream fails check with a configuration error", () =>
    Effect.gen(function*() {
      const config = yield* Schema.decodeUnknownEffect(SourceConfig)({ servers: SERVERS, stream: "DFTEST_NO_SUCH_STREAM", consumer: "c" })
      const error = yield* Effect.flip(NatsSource.check(config))
      assert.strictEqual(error.reason._tag, "ConfigurationError")
    }), 60_000)

  it.live("an unreachable server fails check and open within a bounded time, without the password", () =>
    Effect.gen(function*() {
      const config = yield* Schema.decodeUnknownEffect(SourceConfig)({
        servers: "127.0.0.1:1",
        user: "u",
        password: "s3cret-pw",
        stream: "S",
        consumer: "c"
      })
      const started = Date.now()
      const checked = yield* Effect.flip(NatsSource.check(config))
      assert.strictEqual(checked.reason._tag, "ConnectionError")
      assert.notInclude(checked.message, "s3cret")
      const opened = yield* Effect.flip(Effect.scoped(NatsSource.open(config, { node: "n", batchSize: 10, instance: 0, parallelism: 1 })))
      assert.strictEqual(opened._tag, "ConnectorError")
      assert.ok(Date.now() - started < 30_000)
    }), 60_000)
})

describe("nats source, the consumer deleted under it", () => {
  it.live("fails the read instead of waiting forever", () =>
    Effect.scoped(Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "deleted")
      yield* fill(n, name, 5)
      const reader = yield* open({ stream: name })
      yield* readN(reader, 5)
      yield* Effect.promise(() => n.jsm.consumers.delete(name, "c"))
      const error = yield* Effect.flip(Effect.gen(function*() {
        for (;;) yield* reader.readBatch(10)
      }))
      assert.strictEqual(error._tag, "ConnectorError")
    })), 120_000)
})
