import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import * as Batch from "../../../src/Batch.ts"
import type { Position } from "../../../src/Batch.ts"
import { Pending } from "../../../src/Connector.ts"
import * as BufferedSource from "../../../src/connectors/kit/bufferedSource.ts"
import { ConnectorError, RecordError, TransientError } from "../../../src/Errors.ts"

/** A buffered source over numbered records whose handles are the numbers; acknowledged ones are collected. */
const setup = (options: { capacity: number; maxInFlight?: number; lingerMs?: number }) => {
  const acked: Array<number> = []
  const events: Array<string> = []
  const source = BufferedSource.make<{ n: number }, number>({
    node: "numbers",
    capacity: options.capacity,
    ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
    lingerMs: options.lingerMs ?? 50,
    pause: () => events.push("pause"),
    resume: () => events.push("resume"),
    advance: (handles) => ({ last: handles[handles.length - 1] }),
    acknowledge: (handles) => Effect.sync(() => acked.push(...handles)),
    seek: () => Effect.void,
    initial: null
  })
  return { source, acked, events }
}

const numbersOf = (batch: Batch.Batch<{ n: number }> | undefined) => Batch.toArray(batch!).map((r) => r.n)

describe("BufferedSource", () => {
  it("pauses the client at capacity and resumes it once drained to the low-water mark", async () => {
    const { source, events } = setup({ capacity: 10 })
    for (let i = 1; i <= 9; i++) source.offer({ n: i }, i)
    expect(source.paused()).toBe(false)
    source.offer({ n: 10 }, 10)
    expect(source.paused()).toBe(true)
    expect(events).toEqual(["pause"])
    // a client that delivers what it had in flight after `pause` is still taken, not dropped
    source.offer({ n: 11 }, 11)
    const first = await Effect.runPromise(source.reader.readBatch(3))
    expect(numbersOf(first)).toEqual([1, 2, 3])
    expect(source.paused()).toBe(true)
    const second = await Effect.runPromise(source.reader.readBatch(3))
    expect(numbersOf(second)).toEqual([4, 5, 6])
    expect(source.paused()).toBe(false)
    expect(events).toEqual(["pause", "resume"])
  })

  it("keeps memory bounded when the pipeline is slower than the client: a producer waiting on `room` never overfills", async () => {
    const { source } = setup({ capacity: 100, maxInFlight: 1_000_000 })
    let produced = 0
    let maxBuffered = 0
    // a background poller as a connector would run it: wait for room, then deliver a fetch of 30
    const producer = Effect.gen(function*() {
      while (produced < 5_000) {
        yield* source.room
        for (let i = 0; i < 30; i++) source.offer({ n: ++produced }, produced)
        maxBuffered = Math.max(maxBuffered, source.buffered())
        yield* Effect.yieldNow
      }
      source.end()
    })
    const consumer = Effect.gen(function*() {
      const seen: Array<number> = []
      for (;;) {
        const batch = yield* source.reader.readBatch(7)
        if (batch === undefined) return seen
        Batch.forEach(batch, (r) => seen.push(r.n))
        // a slow pipeline
        yield* Effect.sleep(0)
      }
    })
    const seen = await Effect.runPromise(
      Effect.gen(function*() {
        const p = yield* Effect.forkChild(producer)
        const s = yield* consumer
        yield* Fiber.join(p)
        return s
      })
    )
    expect(seen.length).toBe(produced)
    expect(seen).toEqual(Array.from({ length: produced }, (_, i) => i + 1))
    // at most capacity plus one fetch delivered after the pause
    expect(maxBuffered).toBeLessThan(100 + 30)
  })

  it("acknowledges only what a completed checkpoint covers, in read order", async () => {
    const { source, acked } = setup({ capacity: 100 })
    for (let i = 1; i <= 10; i++) source.offer({ n: i }, i)
    const b1 = await Effect.runPromise(source.reader.readBatch(4))
    const p1 = await Effect.runPromise(source.reader.position)
    expect(b1?.origin?.position).toEqual(p1)
    const b2 = await Effect.runPromise(source.reader.readBatch(4))
    const p2 = b2!.origin!.position
    await Effect.runPromise(source.reader.readBatch(4))
    // nothing is acknowledged by reading
    expect(acked).toEqual([])
    expect(source.inFlight()).toBe(10)
    // the checkpoint with p2 completes first; a later commit of the older p1 is a no-op
    await Effect.runPromise(source.reader.commit(p2))
    expect(acked).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    await Effect.runPromise(source.reader.commit(p1))
    expect(acked).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(source.inFlight()).toBe(2)
    // a position this reader never produced (a restored one) acknowledges nothing
    await Effect.runPromise(source.reader.commit({ last: 99 } as Position))
    expect(acked).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  it("out-of-order completion: a commit of an earlier position after a later one acknowledges each record once, in order", async () => {
    const { source, acked } = setup({ capacity: 100 })
    const positions: Array<Position> = []
    for (let i = 1; i <= 12; i++) source.offer({ n: i }, i)
    for (let k = 0; k < 4; k++) positions.push((await Effect.runPromise(source.reader.readBatch(3)))!.origin!.position)
    await Effect.runPromise(source.reader.commit(positions[1]))
    await Effect.runPromise(source.reader.commit(positions[0]))
    await Effect.runPromise(source.reader.commit(positions[3]))
    await Effect.runPromise(source.reader.commit(positions[2]))
    expect(acked).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
  })

  it("stops reading at maxInFlight until a checkpoint completes", async () => {
    const { source, acked } = setup({ capacity: 100, maxInFlight: 5, lingerMs: 20 })
    for (let i = 1; i <= 8; i++) source.offer({ n: i }, i)
    const b = await Effect.runPromise(source.reader.readBatch(100))
    expect(numbersOf(b)).toEqual([1, 2, 3, 4, 5])
    const none = await Effect.runPromise(source.reader.readBatch(100))
    expect(Batch.size(none!)).toBe(0)
    expect(none!.origin?.position).toEqual(b!.origin!.position)
    expect(source.reader.readBatchSync!(100)).toBe(Pending)
    await Effect.runPromise(source.reader.commit(b!.origin!.position))
    expect(acked).toEqual([1, 2, 3, 4, 5])
    expect(numbersOf(await Effect.runPromise(source.reader.readBatch(100)))).toEqual([6, 7, 8])
  })

  it("readBatch waits for the next offer instead of polling, and returns an empty batch after the linger time", async () => {
    const { source } = setup({ capacity: 10, lingerMs: 60_000 })
    const result = await Effect.runPromise(
      Effect.gen(function*() {
        const reading = yield* Effect.forkChild(source.reader.readBatch(5))
        yield* Effect.sleep(10)
        source.offer({ n: 1 }, 1)
        return yield* Fiber.join(reading)
      })
    )
    expect(numbersOf(result)).toEqual([1])
    const quick = setup({ capacity: 10, lingerMs: 10 })
    const empty = await Effect.runPromise(quick.source.reader.readBatch(5))
    expect(empty !== undefined && Batch.isEmpty(empty)).toBe(true)
  })

  it("delivers the records buffered before a failure, then fails; ends after the last record", async () => {
    const { source } = setup({ capacity: 10 })
    source.offer({ n: 1 }, 1)
    source.fail(new RecordError({ detail: "message 1-2 is not JSON" }))
    expect(numbersOf(await Effect.runPromise(source.reader.readBatch(5)))).toEqual([1])
    const failed = await Effect.runPromise(Effect.flip(source.reader.readBatch(5)))
    expect(failed.message).toContain("message 1-2")

    const other = setup({ capacity: 10 })
    other.source.offer({ n: 1 }, 1)
    other.source.end()
    expect(numbersOf(await Effect.runPromise(other.source.reader.readBatch(5)))).toEqual([1])
    expect(await Effect.runPromise(other.source.reader.readBatch(5))).toBeUndefined()
    const broken = setup({ capacity: 10 })
    broken.source.fail(new ConnectorError({ connector: "x", operation: "read", reason: new TransientError({ message: "gone" }) }))
    expect(() => broken.source.reader.readBatchSync!(5)).toThrow(/gone/)
  })

  it("seek empties the buffer and forgets what was in flight (the broker redelivers it)", async () => {
    const { source, acked } = setup({ capacity: 10 })
    for (let i = 1; i <= 4; i++) source.offer({ n: i }, i)
    const b = await Effect.runPromise(source.reader.readBatch(2))
    await Effect.runPromise(source.reader.seek({ last: 0 }))
    expect(source.buffered()).toBe(0)
    expect(source.inFlight()).toBe(0)
    expect(await Effect.runPromise(source.reader.position)).toEqual({ last: 0 })
    await Effect.runPromise(source.reader.commit(b!.origin!.position))
    expect(acked).toEqual([])
  })

  describe("units (boundary) and weight", () => {
    /** Records `{ n, tx }`: handle `[tx, index, last]`; the position is (last boundary's tx, records of the next unit read). */
    type H = readonly [tx: number, index: number, last: boolean]
    const units = (options: { capacity: number; maxWeight?: number; weigh?: boolean }) => {
      const acked: Array<H> = []
      const events: Array<string> = []
      const source = BufferedSource.make<{ n: number; tx: number }, H>({
        node: "txs",
        capacity: options.capacity,
        lingerMs: 20,
        pause: () => events.push("pause"),
        resume: () => events.push("resume"),
        boundary: (h) => h[2],
        ...(options.weigh === true ? { weight: (r: { n: number }) => r.n } : {}),
        ...(options.maxWeight !== undefined ? { maxWeight: options.maxWeight } : {}),
        advance: (hs) => {
          const [tx, index, last] = hs[hs.length - 1]
          return last ? { tx, within: 0 } : { tx: tx - 1, within: index + 1 }
        },
        acknowledge: (hs) => Effect.sync(() => acked.push(...hs)),
        seek: () => Effect.void,
        initial: null
      })
      /** Offers transaction `tx` of `size` records numbered from `from`. */
      const offerTx = (tx: number, size: number, from = 1) => {
        for (let i = 0; i < size; i++) source.offer({ n: from + i, tx }, [tx, i, i === size - 1])
      }
      return { source, acked, events, offerTx }
    }
    const txsOf = (batch: Batch.Batch<{ n: number; tx: number }> | undefined) => Batch.toArray(batch!).map((r) => r.tx)

    it("ends batches only where a unit ends", async () => {
      const { source, offerTx } = units({ capacity: 100 })
      offerTx(1, 3)
      offerTx(2, 3)
      offerTx(3, 3)
      const a = await Effect.runPromise(source.reader.readBatch(5))
      expect(txsOf(a)).toEqual([1, 1, 1])
      expect(a!.origin!.position).toEqual({ tx: 1, within: 0 })
      const b = await Effect.runPromise(source.reader.readBatch(7))
      expect(txsOf(b)).toEqual([2, 2, 2, 3, 3, 3])
      expect(b!.origin!.position).toEqual({ tx: 3, within: 0 })
    })

    it("waits for the end of a unit that is still arriving, instead of splitting it", async () => {
      const { source } = units({ capacity: 100 })
      source.offer({ n: 1, tx: 1 }, [1, 0, false])
      source.offer({ n: 2, tx: 1 }, [1, 1, false])
      const none = await Effect.runPromise(source.reader.readBatch(10))
      expect(Batch.size(none!)).toBe(0)
      expect(source.reader.readBatchSync!(10)).toBe(Pending)
      source.offer({ n: 3, tx: 1 }, [1, 2, true])
      expect(txsOf(await Effect.runPromise(source.reader.readBatch(10)))).toEqual([1, 1, 1])
    })

    it("splits a unit larger than the batch at `max`, with positions inside it, and never more than `max` records", async () => {
      const { source, offerTx, acked } = units({ capacity: 1000 })
      offerTx(1, 2)
      offerTx(2, 10)
      offerTx(3, 1)
      const sizes: Array<number> = []
      const positions: Array<Position> = []
      for (;;) {
        const b = source.reader.readBatchSync!(4)
        if (b === Pending || b === undefined) break
        sizes.push(Batch.size(b))
        positions.push(b.origin!.position)
      }
      // the rest of unit 2 and all of unit 3 fit in one batch
      expect(sizes).toEqual([2, 4, 4, 3])
      // the position inside unit 2 is "after unit 1, k records of the next read": a restore skips exactly k
      expect(positions).toEqual([{ tx: 1, within: 0 }, { tx: 1, within: 4 }, { tx: 1, within: 8 }, { tx: 3, within: 0 }])
      // a checkpoint inside the unit hands the handles over; the connector confirms only up to the last boundary
      await Effect.runPromise(source.reader.commit(positions[1]))
      expect(acked.filter((h) => h[2]).map((h) => h[0])).toEqual([1])
      await Effect.runPromise(source.reader.commit(positions[3]))
      expect(acked.length).toBe(13)
    })

    it("splits a unit that fills the buffer (its end cannot arrive while the client is paused)", async () => {
      const { source, events } = units({ capacity: 5 })
      for (let i = 0; i < 6; i++) source.offer({ n: i, tx: 1 }, [1, i, false])
      expect(source.paused()).toBe(true)
      const b = await Effect.runPromise(source.reader.readBatch(100))
      expect(Batch.size(b!)).toBe(6)
      expect(b!.origin!.position).toEqual({ tx: 0, within: 6 })
      expect(events).toEqual(["pause", "resume"])
      source.offer({ n: 6, tx: 1 }, [1, 6, true])
      const rest = await Effect.runPromise(source.reader.readBatch(100))
      expect(Batch.size(rest!)).toBe(1)
      expect(rest!.origin!.position).toEqual({ tx: 1, within: 0 })
    })

    it("pauses on weight as well as on count, and resumes when the weight is down to half", async () => {
      const { source, events, offerTx } = units({ capacity: 1000, maxWeight: 100, weigh: true })
      // records weigh their n: 10 + 20 + 30 = 60, then 40 -> 100
      source.offer({ n: 10, tx: 1 }, [1, 0, true])
      source.offer({ n: 20, tx: 2 }, [2, 0, true])
      source.offer({ n: 30, tx: 3 }, [3, 0, true])
      expect(source.paused()).toBe(false)
      source.offer({ n: 40, tx: 4 }, [4, 0, true])
      expect(source.paused()).toBe(true)
      expect(source.bufferedWeight()).toBe(100)
      // 90 left: still above half
      await Effect.runPromise(source.reader.readBatch(1))
      expect(source.paused()).toBe(true)
      // 40 left: resumed
      await Effect.runPromise(source.reader.readBatch(2))
      expect(source.paused()).toBe(false)
      expect(source.bufferedWeight()).toBe(40)
      expect(events).toEqual(["pause", "resume"])
      offerTx(5, 2, 1)
      await Effect.runPromise(source.reader.seek(null))
      expect(source.bufferedWeight()).toBe(0)
    })

    it("a waiting read is answered when the unit's end arrives, not with an empty batch at each part", async () => {
      const { source } = units({ capacity: 1000 })
      const batch = await Effect.runPromise(
        Effect.gen(function*() {
          const reading = yield* Effect.forkChild(source.reader.readBatch(100))
          for (let i = 0; i < 5; i++) {
            yield* Effect.sleep(2)
            source.offer({ n: i, tx: 1 }, [1, i, i === 4])
          }
          return yield* Fiber.join(reading)
        })
      )
      expect(txsOf(batch)).toEqual([1, 1, 1, 1, 1])
    })

    it("many units of random sizes read in random batch sizes: nothing lost or repeated, a batch ends at a unit's end or is full", async () => {
      const { source } = units({ capacity: 50_000 })
      let seed = 7
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed % n
      }
      let n = 0
      const sizes: Array<number> = []
      for (let tx = 1; tx <= 3000; tx++) {
        const size = 1 + random(tx % 100 === 0 ? 400 : 8)
        sizes.push(size)
        for (let i = 0; i < size; i++) source.offer({ n: n++, tx }, [tx, i, i === size - 1])
      }
      source.end()
      const seen: Array<number> = []
      for (;;) {
        const max = 1 + random(60)
        const b = source.reader.readBatchSync!(max)
        if (b === undefined) break
        if (b === Pending) throw new Error("pending with records buffered")
        const records = Batch.toArray(b)
        expect(records.length).toBeLessThanOrEqual(max)
        const position = b.origin!.position as { tx: number; within: number }
        const last = records[records.length - 1]
        // a part of a unit only when the batch is full; else it ends where a unit ends
        if (position.within !== 0) expect(records.length).toBe(max)
        else expect(position.tx).toBe(last.tx)
        for (const r of records) seen.push(r.n)
      }
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => i))
    })

    it("without boundary or weight, behaves as before: any record count ends a batch", async () => {
      const { source } = setup({ capacity: 100 })
      for (let i = 1; i <= 5; i++) source.offer({ n: i }, i)
      expect(numbersOf(await Effect.runPromise(source.reader.readBatch(2)))).toEqual([1, 2])
    })
  })
})
