/**
 * The connector guide's custom source (examples/connector/Counter.ts, shown in
 * docs/connectors/writing-a-connector.md) passes the source conformance suite: its batches carry
 * their positions, and a reader seeking to any of them continues exactly there.
 */
import { Effect } from "effect"
import { Counter } from "../../examples/connector/Counter.ts"
import { sourceSuite } from "../../src/testing/vitest.ts"

const context = { node: "numbers", batchSize: 100, instance: 0, parallelism: 1 }

sourceSuite(
  "the connector guide's Counter",
  Effect.succeed({
    open: Counter.open({ from: 1, to: 250 }, context),
    expected: Array.from({ length: 250 }, (_, i) => ({ n: i + 1 }))
  })
)
