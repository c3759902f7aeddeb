/**
 * Type-level tests: durations in a DSL workflow's settings are written as the runtime reads them
 * (`500ms`, `30s`, `1.5m`, `1h`, or milliseconds). `checkpoint_interval: "10 seconds"` used to
 * compile, pass `prepare` and die at run time.
 */
import { pipe } from "effect"
import { describe, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import * as Stateful from "../../src/processors/stateful.ts"
import * as Spec from "../../src/Spec.ts"

const source = Spec.source<{ readonly id: number }>("memory", { records: [] })

describe("durations", () => {
  it("the runtime's spellings compile", () => {
    Pipeline.from("in", source).execution({
      checkpoint_interval: "30s",
      restart_strategy: { type: "exponential-backoff", initial: "500ms", max: "1.5m", attempts: 5 },
      batching: { adaptive: true, linger: 5, latency_target: "20ms" }
    })
    Workflow.make("w", { execution: { checkpoint_interval: "1h" } }).execution({ checkpoint_interval: 250 })
    pipe(Pipeline.from("in", source), Pipeline.execution({ checkpoint_interval: "2m" }))
  })

  it("other spellings do not compile", () => {
    // @ts-expect-error: '10 seconds' is not a duration
    Pipeline.from("in", source).execution({ checkpoint_interval: "10 seconds" })
    // @ts-expect-error: CompileError<"'5 s' is not a duration: ...">
    Pipeline.from("in", source).execution({ checkpoint_interval: "5 s" })
    // @ts-expect-error: a restart delay in the wrong form
    Pipeline.from("in", source).execution({ restart_strategy: { type: "fixed-delay", attempts: 3, delay: "1e3ms" } })
    // @ts-expect-error: in Workflow.make too
    Workflow.make("w", { execution: { checkpoint_interval: "30 s" } })
    // @ts-expect-error: and in a workflow's execution
    Workflow.make("w").execution({ batching: { linger: "-1ms" } })
    // @ts-expect-error: and data-last
    pipe(Pipeline.from("in", source), Pipeline.execution({ checkpoint_interval: "1 minute" }))
  })

  it("window sizes of the stateful specs too", () => {
    interface Order {
      readonly country: string
      readonly at: number
    }
    Stateful.aggregateOf<Order>()({ time_field: "at", window: { type: "tumbling", size: "1m" }, aggregates: { n: { op: "count" } } })
    Stateful.aggregateOf<Order>()({
      time_field: "at",
      // @ts-expect-error: CompileError<"'1 minute' is not a duration: ...">
      window: { type: "sliding", size: "5m", slide: "1 minute" },
      aggregates: { n: { op: "count" } }
    })
    // @ts-expect-error: '5 s' is not a duration
    Stateful.aggregate({ time_field: "at", max_out_of_orderness: "5 s", aggregates: { n: { op: "count" } } })
    Stateful.dedupe<Order>({ key: ["country"], window: "1h" })
    // @ts-expect-error: 'an hour' is not a duration
    Stateful.dedupe<Order>({ key: ["country"], window: "an hour" })
  })
})
