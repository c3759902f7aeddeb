/**
 * `filter`: keeps the records for which a condition holds.
 *
 * YAML gives the condition as an expression (`config.condition`, see `docs/expressions.md`),
 * compiled once when the workflow is prepared; the DSL may give a predicate function instead
 * (`config.predicate`). A record is kept when the condition gives `true`; `false` and `null`
 * drop it; any other value, or a type error inside the expression, fails the workflow with a
 * `RecordError` naming the expression.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Expression from "../expr/Expression.ts"
import * as Processor from "../Processor.ts"
import * as Spec from "../Spec.ts"
import { fn } from "./internal/schema.ts"

/**
 * The config Schema of `filter`: exactly one of `condition` (an expression) or `predicate` (a
 * function, DSL only). `vectorized` is accepted for compatibility with the original workflow
 * format and has no effect: evaluation is always one plain loop per batch.
 *
 * @category config
 * @since 0.1.0
 */
export const FilterConfig = Schema.Struct({
  condition: Schema.optionalKey(Schema.String.annotate({ description: "An expression; the records for which it is true are kept" })),
  predicate: Schema.optionalKey(fn<(record: unknown) => boolean>("a function (record) => boolean")),
  vectorized: Schema.optionalKey(
    Schema.Boolean.annotate({ description: "Accepted for compatibility; no effect (evaluation is always one loop per batch)" })
  )
})

/**
 * The decoded config of `filter`.
 *
 * @category config
 * @since 0.1.0
 */
export type FilterConfig = typeof FilterConfig.Type

/**
 * The `filter` processor definition (YAML `type: filter`).
 *
 * @category definitions
 * @since 0.1.0
 */
export const FilterDefinition: Processor.ProcessorDefinition<FilterConfig> = Processor.define({
  type: "filter",
  description: "keeps the records for which `condition` (an expression) or `predicate` (a function) is true",
  config: FilterConfig,
  make: (config, context) => {
    if (config.condition !== undefined && config.predicate !== undefined) {
      return Processor.configIssue(["predicate"], "give either 'condition' or 'predicate', not both")
    }
    if (config.predicate !== undefined) return Processor.stateless({ _tag: "filter", f: config.predicate })
    if (config.condition === undefined) {
      return Processor.configIssue(["condition"], "missing 'condition' (an expression such as \"status == 'active'\")")
    }
    const site = context.site
    const compiled = Expression.compilePredicate(config.condition, {
      site: site === undefined ? undefined : (column) => site(["condition"], column)
    })
    if (!compiled.ok) return Processor.configIssue(["condition"], compiled.message, compiled.column)
    return Processor.stateless({ _tag: "filter", f: compiled.test })
  }
})

/**
 * A typed `filter` spec for the DSL: an expression (checked when the workflow is prepared) or a
 * predicate on the record type. The record type passes through unchanged.
 *
 * @example
 * ```ts
 * filterSpec<Order>((o) => o.amount >= 10)
 * filterSpec<Order>("status == 'active'")
 * ```
 * @category specs
 * @since 0.1.0
 */
export const filterSpec = <A>(condition: string | ((record: A) => boolean)): Spec.ProcessorSpec<A, A> =>
  Spec.processor<A, A>("filter", typeof condition === "string" ? { condition } : { predicate: condition })
