/**
 * The `aggregate` processor: keyed aggregates (`count`, `sum`, `min`, `max`, `avg`, `first`,
 * `last`, `count_distinct`, user reducers) over tumbling or sliding event-time windows, or over
 * the whole input.
 *
 * Records are grouped by `group_by` (also the partitioning key: every record of a group meets
 * the same operator instance, in order) and assigned to windows by their `time_field`. Each
 * instance keeps a watermark — the largest event time it has seen minus
 * `max_out_of_orderness`, or a larger watermark carried by an input batch — and a window
 * `[start, end)` fires (emits one record per group, then forgets them) once the watermark
 * reaches `end`. A record whose every window has fired is late: dropped (`late: drop`, counted)
 * or sent to the side output `late` (`late: side_output`). At end of input every open window
 * fires. Output order is deterministic: by window start, then by group key.
 *
 * All of the operator's state (window contents, clock, late count) lives in its keyed state and
 * is encoded by `stateSchema`, so a checkpoint can snapshot it and a fresh operator restored
 * from it continues exactly where the old one stopped. See `docs/windowing.md`.
 *
 * @example
 * ```yaml
 * transformations:
 *   per_minute:
 *     type: aggregate
 *     inputs: [orders]
 *     config:
 *       group_by: [country]
 *       time_field: created_at
 *       window: { type: tumbling, size: 1m }
 *       max_out_of_orderness: 5s
 *       aggregates:
 *         orders: { op: count }
 *         revenue: { op: sum, field: amount }
 * ```
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Processor from "../Processor.ts"
import { DurationString, durationMillis } from "../WorkflowGraph.ts"
import { builtin, fromReducer, isReducer, OPS, type Reducer } from "./internal/aggregateOps.ts"
import { type AggregatePlan, makeOperator } from "./internal/aggregateOperator.ts"
import { UNLIMITED } from "./internal/keyLimit.ts"
import { aggregateStateSchema } from "./internal/windowState.ts"
import { mergeClocks, paneGroupKey } from "./internal/windowState.ts"
import { keyOf } from "./internal/windows.ts"

export type { Reducer } from "./internal/aggregateOps.ts"
export type { AggregateOperator, AggregatePlan } from "./internal/aggregateOperator.ts"

const NonEmpty = Schema.NonEmptyString

/**
 * A window: `{ type: tumbling, size }` or `{ type: sliding, size, slide }` (durations such as
 * `30s`, `1m`, or milliseconds). Windows are aligned to the epoch.
 *
 * @category schemas
 * @since 0.1.0
 */
export const WindowConfig = Schema.Union([
  Schema.Struct({ type: Schema.Literal("tumbling"), size: DurationString.annotate({ description: "The window's length" }) }),
  Schema.Struct({
    type: Schema.Literal("sliding"),
    size: DurationString.annotate({ description: "The window's length" }),
    slide: DurationString.annotate({ description: "How often a window starts (at most size)" })
  })
])

/**
 * One output field computed by a built-in operation. `field` is required except for `count`
 * (which counts records without it, and non-null values of `field` with it).
 *
 * @category schemas
 * @since 0.1.0
 */
export const OpSpec = Schema.Struct({
  op: Schema.Literals(OPS).annotate({ description: "The operation" }),
  field: Schema.optionalKey(NonEmpty.annotate({ description: "The input field (not needed by count)" }))
})

/**
 * One output field computed by a user reducer (DSL only: it holds functions).
 *
 * @category schemas
 * @since 0.1.0
 */
export const ReducerSpec = Schema.Struct({
  reducer: Schema.declare(isReducer, {
    expected: "a reducer { init, add, result, schema? } (functions, so only from the DSL)"
  })
})

/**
 * The config of `aggregate` (keys as written in YAML).
 *
 * @category schemas
 * @since 0.1.0
 */
export const AggregateConfig = Schema.Struct({
  group_by: Schema.optionalKey(
    Schema.Array(NonEmpty).annotate({ description: "The fields that form a group (absent or []: one group); also the partitioning key" })
  ),
  time_field: Schema.optionalKey(NonEmpty.annotate({ description: "The event-time field; required with window" })),
  window: Schema.optionalKey(WindowConfig).annotateKey({ description: "tumbling { size } or sliding { size, slide }; absent: the whole input" }),
  max_out_of_orderness: Schema.optionalKey(DurationString).annotateKey({
    description: "How far behind the largest event time seen a record may come and still count (only with window)",
    default: 0
  }),
  late: Schema.optionalKey(Schema.Literals(["drop", "side_output"]).annotate({
    description: "A record behind the watermark (only with window): dropped, or sent to the node's late side output",
    default: "drop"
  })),
  window_format: Schema.optionalKey(Schema.Literals(["iso", "epoch_ms"]).annotate({
    description: "How window bounds are written: ISO text or epoch milliseconds",
    default: "iso"
  })),
  max_keys: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)).annotate({
    description: "The most panes (open windows × groups) an instance holds; one more fails the run (absent: no limit)"
  })),
  aggregates: Schema.Record(Schema.String, Schema.Union([OpSpec, ReducerSpec])).annotate({
    description: "Output field → { op, field }"
  })
}).check(Schema.makeFilter(validate))

/**
 * A decoded `aggregate` config.
 *
 * @category models
 * @since 0.1.0
 */
export type AggregateConfig = typeof AggregateConfig.Type

function validate(c: {
  readonly group_by?: ReadonlyArray<string>
  readonly time_field?: string
  readonly window?: typeof WindowConfig.Type
  readonly max_out_of_orderness?: string | number
  readonly late?: string
  readonly aggregates: { readonly [name: string]: typeof OpSpec.Type | typeof ReducerSpec.Type }
}): ReadonlyArray<Schema.FilterIssue> {
  const issues: Array<Schema.FilterIssue> = []
  const groupBy = c.group_by ?? []
  if (c.window !== undefined) {
    if (c.time_field === undefined) issues.push({ path: ["time_field"], issue: "time_field is required when a window is set" })
    const size = durationMillis(c.window.size)
    if (size <= 0) issues.push({ path: ["window", "size"], issue: "the window size must be greater than 0" })
    if (c.window.type === "sliding") {
      const slide = durationMillis(c.window.slide)
      if (slide <= 0) issues.push({ path: ["window", "slide"], issue: "slide must be greater than 0" })
      else if (slide > size) {
        issues.push({ path: ["window", "slide"], issue: "slide must not be larger than size (records between windows would belong to none)" })
      }
    }
  }
  if (c.window === undefined) {
    for (const key of ["max_out_of_orderness", "late"] as const) {
      if (c[key] !== undefined) issues.push({ path: [key], issue: `${key} only applies to a windowed aggregate (set window)` })
    }
  }
  if (new Set(groupBy).size !== groupBy.length) issues.push({ path: ["group_by"], issue: "a field is listed twice" })
  const reserved = c.window !== undefined ? ["window_start", "window_end"] : []
  for (const name of Object.keys(c.aggregates)) {
    const spec = c.aggregates[name]
    if (groupBy.includes(name) || reserved.includes(name)) {
      issues.push({ path: ["aggregates", name], issue: `output field '${name}' is also a group_by field or a window field` })
    }
    if ("op" in spec && spec.op !== "count" && spec.field === undefined) {
      issues.push({ path: ["aggregates", name, "field"], issue: `op '${spec.op}' needs a field` })
    }
  }
  return issues
}

/**
 * The operator plan of a decoded config.
 *
 * @category constructors
 * @since 0.1.0
 */
export const plan = (config: AggregateConfig): AggregatePlan => {
  const names = Object.keys(config.aggregates)
  const w = config.window
  return {
    groupBy: config.group_by ?? [],
    timeField: config.time_field,
    window: w === undefined
      ? { _tag: "Global" }
      : { _tag: "Fixed", size: durationMillis(w.size), slide: durationMillis(w.type === "sliding" ? w.slide : w.size) },
    maxOutOfOrderness: config.max_out_of_orderness === undefined ? 0 : durationMillis(config.max_out_of_orderness),
    late: config.late ?? "drop",
    windowFormat: config.window_format ?? "iso",
    maxKeys: config.max_keys ?? UNLIMITED,
    names,
    accumulators: names.map((name) => {
      const spec = config.aggregates[name]
      return "op" in spec ? builtin(spec.op, spec.field) : fromReducer(spec.reducer as Reducer)
    })
  }
}

/**
 * The stateful processor of a decoded config (what the registry runs for a node).
 *
 * @category constructors
 * @since 0.1.0
 */
export const processor = (config: AggregateConfig): Processor.StatefulProcessor => {
  const p = plan(config)
  const groupBy = p.groupBy
  return {
    _tag: "Stateful",
    // no group_by: one global group, so every record goes to one instance
    key: groupBy.length === 0 ? () => "" : (record) => keyOf(record, groupBy),
    ports: ["late"],
    stateSchema: aggregateStateSchema(p.accumulators.map((a) => a.codec)),
    stateVersion: 1,
    make: (context) => makeOperator(p, context.setAside),
    deadLetters: true,
    keyOfEntry: paneGroupKey,
    mergeEntries: mergeClocks,
    // what the panes depend on (late handling, out-of-orderness and output format do not change them)
    fingerprint: {
      group_by: groupBy,
      time_field: config.time_field ?? null,
      window: p.window,
      aggregates: Object.fromEntries(
        p.names.map((name) => {
          const spec = config.aggregates[name]
          return [name, "op" in spec ? { op: spec.op, field: spec.field ?? null } : { reducer: "user" }]
        })
      )
    }
  }
}

/**
 * The `aggregate` processor definition (YAML `type: aggregate`).
 *
 * @category definitions
 * @since 0.1.0
 */
export const Aggregate = Processor.define({
  type: "aggregate",
  description: "keyed count/sum/min/max/avg/first/last/count_distinct and reducers over event-time windows",
  config: AggregateConfig,
  make: (config) => processor(config)
})
