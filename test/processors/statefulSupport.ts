/**
 * Helpers for the stateful processor tests (aggregate, dedupe): feed real batches to an operator,
 * take its snapshot through JSON as a checkpoint would, and restore a fresh operator from it.
 */
import { Schema } from "effect"
import * as Batch from "../../src/Batch.ts"
import { decodeAll } from "../../src/internal/decode.ts"
import type { Operator, StatefulProcessor } from "../../src/Processor.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

/** What an operator emitted: its main output and its `late` side output. */
export interface RunResult {
  readonly records: Array<unknown>
  readonly late: Array<unknown>
}

/** `xs` cut into consecutive lists of `size` (the last one shorter). */
export const chunks = <A>(xs: ReadonlyArray<A>, size: number): Array<Array<A>> => {
  const out: Array<Array<A>> = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

/** Feeds batches to an operator; `end` calls onEnd at the end. Appends to `into`, and returns it. */
export const feed = (
  op: Operator,
  batches: ReadonlyArray<ReadonlyArray<unknown>>,
  end: boolean,
  into: RunResult = { records: [], late: [] }
): RunResult => {
  const take = (o: ReturnType<Operator["onBatch"]>) => {
    into.records.push(...o.records)
    into.late.push(...(o.side?.late ?? []))
  }
  for (const b of batches) take(op.onBatch(Batch.make(b)))
  if (end) take(op.onEnd())
  return into
}

/** Snapshot → encode → JSON text → decode, as a checkpoint to another process would. */
export const throughJson = (p: StatefulProcessor, op: Operator): Array<readonly [string, unknown]> => {
  const encoded = op.state.snapshot().map(([k, v]) => [k, Schema.encodeUnknownSync(p.stateSchema)(v)])
  const text = JSON.stringify(encoded)
  return (JSON.parse(text) as Array<[string, unknown]>).map(([k, v]) => [k, Schema.decodeUnknownSync(p.stateSchema)(v)] as const)
}

/**
 * Runners of one operator of node `node` (instance 0): `run` feeds all records in batches of
 * `batchSize` and ends; `runWithRestore` runs the batches before `split` on one operator, restores
 * a fresh one from its snapshot (through JSON) and runs the rest on it.
 */
export const operatorRuns = (node: string) => ({
  run: (p: StatefulProcessor, records: ReadonlyArray<unknown>, batchSize = 1_000_000): RunResult =>
    feed(p.make({ node, instance: 0 }), chunks(records, Math.max(1, batchSize)), true),
  runWithRestore: (p: StatefulProcessor, batches: ReadonlyArray<ReadonlyArray<unknown>>, split: number): RunResult => {
    const first = p.make({ node, instance: 0 })
    const result = feed(first, batches.slice(0, split), false)
    const second = p.make({ node, instance: 0 })
    second.state.restore(throughJson(p, first))
    return feed(second, batches.slice(split), true, result)
  }
})

/** The issues of decoding `config` with `schema`, as `path: message` lines (none when it decodes). */
export const configIssues = <A>(schema: Schema.Decoder<A>, config: unknown): Array<string> => {
  const r = decodeAll(schema, config)
  return r.ok ? [] : r.issues.map((i) => `${i.path.join(".")}: ${i.message}`)
}

/** The processor node of {@link numbersThrough}. */
export interface ProcessorUnderTest {
  readonly id: string
  readonly type: string
  readonly config: unknown
  readonly parallelism: number
}

/**
 * A workflow `name` (batch size `batchSize`): the `numbers` source `source` (`count` records) →
 * `processor` → a `collect_test` sink `out` named `collect`, and for each of `ports` a sink of the
 * same id reading the side output, named `<collect>-<port>`.
 */
export const numbersThrough = (options: {
  readonly name: string
  readonly batchSize: number
  readonly source: string
  readonly count: number
  readonly processor: ProcessorUnderTest
  readonly collect: string
  readonly ports?: ReadonlyArray<string>
}): WorkflowGraph.WorkflowGraph => {
  const { batchSize, collect, count, name, ports = [], processor, source } = options
  return WorkflowGraph.make({
    name,
    execution: { batch_size: batchSize },
    nodes: [
      { kind: "source", id: source, type: "numbers", config: { count }, inputs: [] },
      { kind: "processor", ...processor, inputs: [source] },
      { kind: "sink", id: "out", type: "collect_test", config: { name: collect }, inputs: [processor.id] },
      ...ports.map((port) => ({
        kind: "sink" as const,
        id: port,
        type: "collect_test",
        config: { name: `${collect}-${port}` },
        inputs: [`${processor.id}.${port}`]
      }))
    ]
  })
}
