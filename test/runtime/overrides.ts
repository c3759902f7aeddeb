/**
 * Prepared connectors for `Overrides.layer` in the runtime tests: a source whose reads and a sink
 * whose writes the test defines (to count, slow down or watch them), with everything else the
 * simplest there is — not seekable, no positions, at-least-once, nothing to flush.
 */
import { Effect } from "effect"
import type * as Batch from "../../src/Batch.ts"
import type { SinkCapabilities } from "../../src/Connector.ts"
import type { ConnectorError, RecordError } from "../../src/Errors.ts"
import type { PreparedSink, PreparedSource } from "../../src/Registry.ts"

/** Reads up to `max` records; `undefined` at the end. */
export type ReadBatch = (max: number) => Effect.Effect<Batch.Batch<unknown> | undefined, ConnectorError | RecordError>

/** A bounded, non-seekable source of `type`; each open reads with a new `reader()`. */
export const readerSource = (type: string, reader: () => ReadBatch): PreparedSource => ({
  _tag: "PreparedSource",
  type,
  capabilities: { seekable: false, unbounded: false },
  check: Effect.void,
  open: () =>
    Effect.sync(() => ({
      readBatch: reader(),
      position: Effect.succeed(null),
      seek: () => Effect.void,
      commit: () => Effect.void
    }))
})

/** An at-least-once sink of `type` (more `capabilities` over that) writing with `writeBatch`. */
export const writerSink = (
  type: string,
  writeBatch: (batch: Batch.Batch<unknown>) => Effect.Effect<{ readonly written: number }, ConnectorError | RecordError>,
  capabilities: Partial<SinkCapabilities> = {}
): PreparedSink => ({
  _tag: "PreparedSink",
  type,
  capabilities: { guarantee: "at-least-once", transactional: false, ...capabilities },
  check: Effect.void,
  open: () => Effect.succeed({ writeBatch, flush: Effect.void })
})
