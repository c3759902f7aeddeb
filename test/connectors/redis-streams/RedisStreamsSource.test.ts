/**
 * The `redis-streams` source against the local Redis: the conformance suite (with `upstream`: the
 * group's `XPENDING` shows the entries up to a committed position, and only those, no longer
 * pending), acknowledgement only after a checkpoint, resume after a crash between a checkpoint and
 * its XACK, dead consumers' entries claimed, bounded read-ahead with a slow pipeline, malformed entries, an unreachable
 * server.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import type { Position } from "../../../src/Batch.ts"
import { SourceConfig } from "../../../src/connectors/redis-streams/RedisStreamsConfig.ts"
import { RedisStreamsSource } from "../../../src/connectors/redis-streams/RedisStreamsSource.ts"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { deadLetterPath, deadLetters, numbers, range, readN } from "../brokers/reading.ts"
import { untilLag } from "../sourceLag.ts"
import { client, fill, type Pending, pending, pendingCount, stream, URL } from "./support.ts"

const open = (config: { readonly [k: string]: unknown }) =>
  Effect.flatMap(Schema.decodeUnknownEffect(SourceConfig)({ url: URL, group: "g", consumer: "c", ...config }), (decoded) =>
    RedisStreamsSource.open(decoded, { node: "events", batchSize: 1000, instance: 0, parallelism: 1 }))

/** An entry id as a number that orders like the ids (`<ms>-<seq>`). */
const idValue = (id: string) => {
  const [ms, seq] = id.split("-")
  return (BigInt(ms ?? "0") << 64n) + BigInt(seq ?? "0")
}

const isPending = (u: unknown): u is Pending => typeof u === "object" && u !== null && "count" in u && "oldest" in u

/** True when the group's `XPENDING` shows no entry up to the position's `id` pending: all of them were acknowledged. */
const acknowledgedThrough = (acknowledged: unknown, position: Position) => {
  const id = typeof position === "object" && position !== null && "id" in position && typeof position.id === "string" ? position.id : undefined
  return id !== undefined && isPending(acknowledged) && (acknowledged.count === 0 || (acknowledged.oldest !== null && idValue(acknowledged.oldest) > idValue(id)))
}

sourceSuite(
  "redis-streams source conformance",
  Effect.gen(function*() {
    const c = yield* client
    const name = yield* stream("suite")
    yield* fill(c, name, 120)
    return {
      open: open({ stream: name, batch_size: 10 }),
      expected: range(1, 120).map((n) => ({ n: String(n) })),
      acknowledged: pending(c, name, "g")
    }
  }),
  {
    batchSizes: [1, 7, 1000],
    seekTargets: 10,
    unbounded: { idleMs: 1500, acknowledges: true },
    // acknowledged through a position: no entry up to its `id` is pending in the group any more
    upstream: { covers: acknowledgedThrough, settleMs: 1000 },
    misconfigured: open({ url: "redis://127.0.0.1:1", stream: "brokers_unreachable" }),
    timeout: 120_000
  }
)

describe("redis-streams source", () => {
  it.live("reports as lag the entries not yet read (the group's XINFO lag plus those read ahead)", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = yield* stream("lag")
      yield* fill(c, name, 100)
      const reader = yield* open({ stream: name, batch_size: 10 })
      const first = yield* readN(reader, 30, 10)
      assert.deepStrictEqual(numbers(first.records), range(1, 30))
      assert.deepStrictEqual(yield* untilLag(reader, 70), { value: 70, unit: "records" })
      yield* fill(c, name, 5, 101)
      assert.deepStrictEqual(yield* untilLag(reader, 75), { value: 75, unit: "records" })
      yield* readN(reader, 75, 25)
      assert.deepStrictEqual(yield* untilLag(reader, 0), { value: 0, unit: "records" })
    })), 120_000)

  it.live("acknowledges entries (XACK) only when a checkpoint covering them completes", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = yield* stream("ack")
      yield* fill(c, name, 50)
      const reader = yield* open({ stream: name })
      const first = yield* readN(reader, 20, 20)
      const second = yield* readN(reader, 30, 30)
      assert.deepStrictEqual(numbers([...first.records, ...second.records]), range(1, 50))
      assert.strictEqual(yield* pendingCount(c, name, "g"), 50, "nothing acknowledged by reading")
      yield* reader.commit(first.position)
      assert.strictEqual(yield* pendingCount(c, name, "g"), 30)
      yield* reader.commit(second.position)
      assert.strictEqual(yield* pendingCount(c, name, "g"), 0)
    })), 60_000)

  it.live("after a crash between a checkpoint and its XACK, resumes exactly after the checkpoint", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = yield* stream("resume")
      yield* fill(c, name, 100)
      // the first run reads 60, checkpoints after 40 and dies before acknowledging anything
      const checkpoint = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* open({ stream: name })
        const a = yield* readN(reader, 40, 40)
        yield* readN(reader, 20, 20)
        return a.position
      }))
      assert.strictEqual(yield* pendingCount(c, name, "g"), 100, "read ahead, nothing acknowledged")
      yield* fill(c, name, 10, 101)
      const reader = yield* open({ stream: name })
      yield* reader.seek(checkpoint)
      const rest = yield* readN(reader, 70)
      assert.deepStrictEqual(numbers(rest.records), range(41, 110))
      // the next checkpoint acknowledges what the restored one covered, too
      yield* reader.commit(rest.position)
      assert.strictEqual(yield* pendingCount(c, name, "g"), 0)
    })), 60_000)

  it.live("claims the pending entries of a dead consumer, and a restore neither repeats nor loses them", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = yield* stream("claim")
      yield* fill(c, name, 30)
      yield* Effect.promise(() => c.sendCommand(["XGROUP", "CREATE", name, "g", "0"]))
      // a consumer that read 10 entries and died
      yield* Effect.promise(() => c.sendCommand(["XREADGROUP", "GROUP", "g", "dead", "COUNT", "10", "STREAMS", name, ">"]))
      yield* Effect.sleep(400)
      const checkpoint = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* open({ stream: name, claim_idle: "300ms" })
        const got = yield* readN(reader, 30)
        assert.deepStrictEqual(numbers(got.records).sort((a, b) => a - b), range(1, 30))
        const p = got.position as { id: string; claimed: ReadonlyArray<string> }
        assert.strictEqual(p.claimed.length, 10, "the claimed entries are listed until acknowledged")
        return got.position
      }))
      yield* fill(c, name, 5, 31)
      const reader = yield* open({ stream: name, claim_idle: "300ms" })
      yield* reader.seek(checkpoint)
      const rest = yield* readN(reader, 5)
      assert.deepStrictEqual(numbers(rest.records), range(31, 35))
      yield* reader.commit(rest.position)
      assert.strictEqual(yield* pendingCount(c, name, "g"), 0)
      // acknowledged, the claimed entries of the restored position are no longer listed
      yield* fill(c, name, 1, 36)
      const last = yield* readN(reader, 1)
      assert.deepStrictEqual((last.position as { claimed: ReadonlyArray<string> }).claimed, [])
    })), 60_000)

  it.live("reads ahead at most buffer_size entries when the pipeline does not keep up", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = yield* stream("backpressure")
      yield* fill(c, name, 20_000)
      const reader = yield* open({ stream: name, batch_size: 50, buffer_size: 200 })
      const first = yield* readN(reader, 10, 10)
      assert.strictEqual(first.records.length, 10)
      // a slow pipeline: nothing more is read for a while
      yield* Effect.sleep(1500)
      const delivered = yield* pendingCount(c, name, "g")
      assert.ok(delivered <= 10 + 200 + 50, `read ahead ${delivered} entries`)
      const rest = yield* readN(reader, 19_990, 1000)
      assert.deepStrictEqual(numbers(rest.records), range(11, 20_000))
    })), 120_000)

  it.live("an entry that is not JSON (codec: json) fails the read naming the entry id", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = yield* stream("malformed")
      const ids = yield* fill(c, name, 3, 1, (i) => ["data", i === 2 ? "{not json" : JSON.stringify({ n: String(i) })])
      const reader = yield* open({ stream: name, codec: "json" })
      const good = yield* readN(reader, 1)
      assert.deepStrictEqual(good.records, [{ n: "1" }])
      const error = yield* Effect.flip(readN(reader, 2))
      assert.include(error.message, ids[1])
      assert.match(error.message, /not json/i)
    })), 60_000)

  it.live("with on_error: dead_letter, an entry that is not JSON is set aside with its id and acknowledged with the next commit", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = yield* stream("deadletter")
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "df-redis-dl-"))),
        (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
      )
      const path = join(dir, "dead.ndjson")
      const ids = yield* fill(c, name, 4, 1, (i) => ["data", i === 2 ? "{not json" : JSON.stringify({ n: String(i) })])
      const reader = yield* open({ stream: name, codec: "json", on_error: "dead_letter", dead_letter: { path } })
      const got = yield* readN(reader, 3)
      assert.deepStrictEqual(numbers(got.records), [1, 3, 4])
      const letters = (yield* Effect.promise(() => readFile(path, "utf8"))).trim().split("\n").map((l) => JSON.parse(l) as { id: string; stream: string; error: string; record: { data: string } })
      assert.strictEqual(letters.length, 1)
      assert.strictEqual(letters[0].id, ids[1])
      assert.strictEqual(letters[0].stream, name)
      assert.deepStrictEqual(letters[0].record, { data: "{not json" })
      assert.match(letters[0].error, /not json/i)
      yield* reader.commit(got.position)
      assert.strictEqual(yield* pendingCount(c, name, "g"), 0, "the set-aside entry is acknowledged too")
    })), 60_000)

  it.live("with on_error: dead_letter, an entry set aside is acknowledged only by the checkpoint covering the entry after it", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = yield* stream("brokers_dlack")
      const path = yield* deadLetterPath
      yield* fill(c, name, 4, 1, (i) => ["data", i === 2 ? "{not json" : JSON.stringify({ n: String(i) })])
      const reader = yield* open({ stream: name, codec: "json", on_error: "dead_letter", dead_letter: { path } })
      const first = yield* readN(reader, 1, 1)
      const rest = yield* readN(reader, 2)
      assert.deepStrictEqual(numbers([...first.records, ...rest.records]), [1, 3, 4])
      assert.strictEqual((yield* deadLetters(path)).length, 1, "set aside before the entries after it are handed on")
      yield* reader.commit(first.position)
      assert.strictEqual(yield* pendingCount(c, name, "g"), 3, "the checkpoint after {n: 1} does not cover the entry set aside after it")
      yield* reader.commit(rest.position)
      assert.strictEqual(yield* pendingCount(c, name, "g"), 0)
    })), 60_000)

  it.live("on_error: dead_letter without dead_letter.path is refused by the config", () =>
    Effect.gen(function*() {
      const refused = yield* Effect.flip(Schema.decodeUnknownEffect(SourceConfig)({ url: URL, stream: "s", group: "g", consumer: "c", on_error: "dead_letter" }))
      assert.include(String(refused), "dead_letter")
    }), 30_000)

  it.live("an unreachable server fails check and open within a bounded time, without the password", () =>
    Effect.gen(function*() {
      const config = yield* Schema.decodeUnknownEffect(SourceConfig)({
        url: "redis://user:s3cret@127.0.0.1:1",
        stream: "s",
        group: "g",
        consumer: "c"
      })
      const started = Date.now()
      const checked = yield* Effect.flip(RedisStreamsSource.check(config))
      assert.strictEqual(checked._tag, "ConnectorError")
      assert.strictEqual(checked.reason._tag, "ConnectionError")
      assert.notInclude(checked.message, "s3cret")
      const opened = yield* Effect.flip(Effect.scoped(RedisStreamsSource.open(config, { node: "n", batchSize: 10, instance: 0, parallelism: 1 })))
      assert.strictEqual(opened._tag, "ConnectorError")
      assert.notInclude(opened.message, "s3cret")
      assert.ok(Date.now() - started < 30_000)
    }), 60_000)
})
