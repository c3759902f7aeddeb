/**
 * `map`: computes fields of each record, or (DSL) replaces each record by a function's result.
 *
 * With `config.fields` (name → expression, YAML and DSL), the output record is the input record
 * with each named field set to the value of its expression: existing fields are overwritten, new
 * ones are added after the existing ones, and every other field is kept. All expressions read the
 * *input* record (a field computed by one expression is not visible to another). A field name is
 * taken literally (`a.b` names a field called `a.b`, not a nested one). With `config.fn` (DSL
 * only) each record is replaced by `fn(record)`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { RecordError } from "../Errors.ts"
import * as Expression from "../expr/Expression.ts"
import * as Processor from "../Processor.ts"
import * as Spec from "../Spec.ts"
import { fn } from "./internal/schema.ts"
import { fieldsStep } from "./internal/steps.ts"

/**
 * The config Schema of `map`: exactly one of `fields` (name → expression) or `fn` (a function,
 * DSL only).
 *
 * @category config
 * @since 0.1.0
 */
export const MapConfig = Schema.Struct({
  fields: Schema.optionalKey(
    Schema.Record(Schema.String, Schema.String).annotate({ description: "Field name → expression; other fields are kept" })
  ),
  fn: Schema.optionalKey(fn<(record: unknown) => unknown>("a function (record) => record"))
})

/**
 * The decoded config of `map`.
 *
 * @category config
 * @since 0.1.0
 */
export type MapConfig = typeof MapConfig.Type

/** Names the field in a `RecordError` thrown while computing it. */
const withField = (e: unknown, field: string): unknown => e instanceof RecordError ? new RecordError({ ...e.fields(), field }) : undefined

/**
 * The `map` processor definition (YAML `type: map`).
 *
 * @category definitions
 * @since 0.1.0
 */
export const MapDefinition: Processor.ProcessorDefinition<MapConfig> = Processor.define({
  type: "map",
  description: "sets fields from expressions (`fields`: name → expression), keeping the other fields",
  config: MapConfig,
  make: (config, context) => {
    if (config.fields !== undefined && config.fn !== undefined) {
      return Processor.configIssue(["fn"], "give either 'fields' or 'fn', not both")
    }
    if (config.fn !== undefined) return Processor.stateless({ _tag: "map", f: config.fn })
    if (config.fields === undefined) {
      return Processor.configIssue(["fields"], "missing 'fields' (a map of field name → expression)")
    }
    const names = Object.keys(config.fields)
    const evs: Array<(record: unknown) => unknown> = []
    for (const name of names) {
      const site = context.site
      const compiled = Expression.compile(config.fields[name], {
        site: site === undefined ? undefined : (column) => site(["fields", name], column)
      })
      if (!compiled.ok) return Processor.configIssue(["fields", name], compiled.message, compiled.column)
      evs.push(compiled.evaluate)
    }
    return Processor.stateless({ _tag: "map", f: fieldsStep(names, evs, withField) })
  }
})

/**
 * A typed `map` spec for the DSL from a function: the output record type is the function's
 * result type.
 *
 * @example
 * ```ts
 * mapSpec((o: Order) => ({ id: o.id, total: o.price * o.quantity }))
 * ```
 * @category specs
 * @since 0.1.0
 */
export const mapSpec = <A, B>(f: (record: A) => B): Spec.ProcessorSpec<A, B> => Spec.processor<A, B>("map", { fn: f })

/**
 * A typed `map` spec for the DSL from expressions (name → expression). Expression results are
 * not typed statically, so the computed fields are `unknown`; the other fields keep their types.
 *
 * @example
 * ```ts
 * mapFieldsSpec<Order, { total: string }>({ total: "price * quantity" })
 * ```
 * @category specs
 * @since 0.1.0
 */
export const mapFieldsSpec = <A, const F extends { readonly [name: string]: string }>(
  fields: F
): Spec.ProcessorSpec<A, Omit<A, keyof F> & { readonly [K in keyof F]: unknown }> =>
  Spec.processor<A, Omit<A, keyof F> & { readonly [K in keyof F]: unknown }>("map", { fields })
