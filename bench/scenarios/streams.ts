/**
 * Scenario 9: Effect Streams in and out. The same work — records → keep the active large ones →
 * reshape → count — written four ways, run alternately in one process:
 * - the DataFlare runtime with an Effect `Stream` as its source and an Effect `Sink` as its
 *   destination (`Streams.source`, `Streams.sink`);
 * - the DataFlare runtime consumed as a `Stream` (`Pipeline.toStream`, from the in-memory
 *   `generator` source);
 * - the DataFlare runtime from the `generator` source into a function sink (`Streams.sink(fn)`);
 * - a plain Effect `Stream` pipeline (`Stream.filter`, `Stream.map`, `Stream.runForEachArray`) —
 *   what an Effect application would write without DataFlare.
 * Every variant gets its records as 1,000-record chunks (the stream sources as a chunked stream,
 * the generator in batches of 1,000), and counts what reaches its end. Compare CPU seconds: on a
 * shared machine wall time includes waiting for the CPU.
 */
import { Effect, Sink, Stream } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Streams from "../../dsl/Streams.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import { alternate, type Contender, type Result, table } from "../lib/stats.ts"

interface Row {
  readonly id: number
  readonly amount: number
  readonly status: string
}

const keep = (r: Row) => r.status === "active" && r.amount >= 100
const reshape = (r: Row) => ({ id: r.id, gross: r.amount * 1.19 })

export const streams = async (records: number, rounds: number): Promise<{ markdown: string; results: ReadonlyArray<Result> }> => {
  const statuses = ["active", "inactive", "pending"]
  const rows: Array<Row> = []
  for (let j = 0; j < records; j++) rows.push({ id: j, amount: j % 1000, status: statuses[j % 3] })
  const expected = rows.filter(keep).length
  const chunked = () => Stream.fromIterable(rows).pipe(Stream.rechunk(1000))
  let out = 0
  const count = (batch: ReadonlyArray<unknown>) => Effect.sync(() => void (out += batch.length))
  const timed = (name: string, program: () => Effect.Effect<unknown, unknown>): Contender => ({
    name,
    run: async () => {
      out = 0
      const cpu = process.cpuUsage()
      const t = performance.now()
      await Effect.runPromise(program())
      const c = process.cpuUsage(cpu)
      if (out !== expected) throw new Error(`${name}: ${out} records reached the end, expected ${expected}`)
      return { seconds: (performance.now() - t) / 1000, cpuSeconds: (c.user + c.system) / 1e6, records }
    }
  })
  const interop = Pipeline.from("rows", Streams.source(chunked()))
    .execution({ batch_size: 1000 })
    .filter("keep", keep)
    .map("reshape", reshape)
    .to("out", Streams.sink(Sink.forEachArray(count)))
  // the generator reads the same rows (records in a `memory` config would be decoded by its Schema every run)
  const generated = Memory.generator({ count: records, make: (i) => rows[i], batch_size: 1000 })
  const consumed = Pipeline.from("rows", generated)
    .execution({ batch_size: 1000 })
    .filter("keep", keep)
    .map("reshape", reshape)
  const builtins = Pipeline.from("rows", generated)
    .execution({ batch_size: 1000 })
    .filter("keep", keep)
    .map("reshape", reshape)
    .to("out", Streams.sink((batch: ReadonlyArray<unknown>) => count(batch)))
  const contenders = [
    timed("DataFlare: Streams.source → filter + map → Streams.sink(Sink)", () => Pipeline.run(interop).pipe(Effect.provide(Builtins.layer))),
    timed("DataFlare: generator → filter + map → Pipeline.toStream", () =>
      Pipeline.toStream(consumed).pipe(Stream.runForEachArray(count), Effect.provide(Builtins.layer))),
    timed("DataFlare: generator → filter + map → Streams.sink(function)", () => Pipeline.run(builtins).pipe(Effect.provide(Builtins.layer))),
    timed("plain Effect Stream: filter + map + runForEachArray", () =>
      chunked().pipe(Stream.filter(keep), Stream.map(reshape), Stream.runForEachArray(count)))
  ]
  // unmeasured warm-up rounds: the JIT, and the heap growing to its working size
  for (let w = 0; w < 2; w++) for (const c of contenders) await c.run()
  const results = await alternate(contenders, rounds)
  return {
    markdown: table(`9. Effect Streams in and out: filter + map, ${records.toLocaleString("en")} records`, results),
    results
  }
}
