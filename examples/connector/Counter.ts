/**
 * A custom source (`counter`) and sink (`printer`), exactly as docs/connectors/writing-a-connector.md
 * shows them: the guide's blocks are this file's regions (scripts/docBlocks.ts checks that they
 * match). examples/dsl-custom-connector.ts runs them, and test/connectors/CustomConnector.test.ts
 * runs the source conformance suite on `Counter`.
 */
// #region source
import { Batch, Connector, Positions, Spec } from "dataflare"
import { Effect, Schema } from "effect"

const seekTo = Positions.decoder("counter", Schema.Int) // a position: the next number to read

export const Counter = Connector.source({
  type: "counter", // the YAML `type`
  description: "counts from `from` to `to`",
  config: Schema.Struct({ from: Schema.Int, to: Schema.Int }), // one Schema: YAML, DSL and errors
  capabilities: () => ({ seekable: true, unbounded: false }),
  position: () => Schema.Int, // the runtime decodes a stored position with it before `seek`
  check: () => Effect.void, // `dataflare check`: a connection test
  open: (config, context) => // runs in the task's Scope
    Effect.sync(() => {
      let next = config.from // the position: the next number to read
      return {
        readBatch: (max: number) =>
          Effect.sync(() => {
            if (next > config.to) return undefined // end of a bounded input
            const records: Array<{ readonly n: number }> = []
            while (records.length < max && next <= config.to) records.push({ n: next++ })
            // every batch carries the position after it: a checkpoint taken after this batch stores it
            return Batch.make(records, { origin: { source: context.node, position: next } })
          }),
        position: Effect.sync(() => next), // any JSON value
        seek: (position: unknown) => Effect.map(seekTo(position), (n) => void (next = n)),
        commit: () => Effect.void // acknowledge upstream (brokers, CDC slots)
      }
    })
})
// #endregion source

// #region sink
export const Printer = Connector.sink({
  type: "printer",
  description: "prints records, one JSON line each",
  config: Schema.Struct({ prefix: Schema.optionalKey(Schema.String) }),
  capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
  check: () => Effect.void,
  open: (config) =>
    Effect.succeed({
      writeBatch: (batch: Batch.Batch<unknown>) =>
        Effect.sync(() => {
          Batch.forEach(batch, (r) => console.log(`${config.prefix ?? ""}${JSON.stringify(r)}`))
          return { written: Batch.size(batch) }
        }),
      flush: Effect.void
    })
})
// #endregion sink

// #region specs
export const counter = (config: { readonly from: number; readonly to: number }) =>
  Spec.source<{ readonly n: number }>("counter", config)

export const printer = (config: { readonly prefix?: string } = {}) => Spec.sink<unknown>("printer", config)
// #endregion specs
