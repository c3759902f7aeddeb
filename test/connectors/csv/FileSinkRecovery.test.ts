/**
 * Whole-run recovery: a workflow writing CSV and NDJSON files fails mid-run, restarts from its
 * last checkpoint, and its files end up equal to those of a run without failure.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as Batch from "../../../src/Batch.ts"
import * as Connector from "../../../src/Connector.ts"
import { connectorDefinitions } from "../../../src/connectors/index.ts"
import * as Registry from "../../../src/Registry.ts"
import * as Runtime from "../../../src/Runtime.ts"
import * as StateBackend from "../../../src/StateBackend.ts"
import * as WorkflowGraph from "../../../src/WorkflowGraph.ts"
import { FailOnce } from "../../runtime/support.ts"
import { tempDir } from "./support.ts"

/** `count` records { id, text }, one batch per millisecond, seekable by index. */
const Slow = Connector.source({
  type: "slow_numbers",
  description: "records { id, text }, a batch per ms",
  config: Schema.Struct({ count: Schema.Int }),
  capabilities: () => ({ seekable: true, unbounded: false }),
  check: () => Effect.void,
  open: (config, ctx) =>
    Effect.sync(() => {
      let next = 0
      return {
        readBatch: (max: number) =>
          Effect.andThen(Effect.sleep(1), Effect.sync(() => {
            if (next >= config.count) return undefined
            const records: Array<{ id: number; text: string }> = []
            while (records.length < max && next < config.count) {
              records.push({ id: next, text: next % 5 === 0 ? `quote " comma , ü ${next}` : `t${next}` })
              next++
            }
            return Batch.make(records, { origin: { source: ctx.node, position: next } })
          })),
        position: Effect.sync(() => next),
        seek: (p) => Effect.sync(() => void (next = Number(p))),
        commit: () => Effect.void
      }
    })
})

const graph = (dir: string, name: string, failAt: number) =>
  WorkflowGraph.make({
    name,
    execution: {
      batch_size: 20,
      queue_capacity: 2,
      checkpoint_interval: "3ms",
      restart_strategy: { type: "fixed-delay", attempts: 3, delay: "1ms" }
    },
    nodes: [
      { kind: "source", id: "nums", type: "slow_numbers", config: { count: 2000 }, inputs: [] },
      { kind: "processor", id: "maybe_fail", type: "fail_once", config: { at: failAt, flag: name }, inputs: ["nums"] },
      { kind: "sink", id: "csv", type: "csv", config: { path: join(dir, `${name}.csv`) }, inputs: ["maybe_fail"] },
      { kind: "sink", id: "ndjson", type: "ndjson", config: { path: join(dir, `${name}.ndjson`) }, inputs: ["maybe_fail"] }
    ]
  })

describe("file sinks under recovery", () => {
  it.live("after a failure and a restore, the CSV and NDJSON files equal those of an uninterrupted run", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Runtime.run(graph(dir, "clean", -1))
      const summary = yield* Runtime.run(graph(dir, "crash", 1500))
      assert.strictEqual(summary.restarts, 1)
      const backend = yield* StateBackend.StateBackend
      const infos = yield* backend.list("crash", 100)
      assert.isAbove(infos.filter((i) => !i.final).length, 1)
      const clean = readFileSync(join(dir, "clean.csv"), "utf8")
      assert.strictEqual(clean.split("\n").length, 2000 + 2) // header, rows, final newline
      assert.strictEqual(readFileSync(join(dir, "crash.csv"), "utf8"), clean)
      assert.strictEqual(readFileSync(join(dir, "crash.ndjson"), "utf8"), readFileSync(join(dir, "clean.ndjson"), "utf8"))
    }).pipe(
      Effect.provide(Layer.merge(Registry.layer([...connectorDefinitions, Slow, FailOnce]), StateBackend.layerMemory))
    )))
})
