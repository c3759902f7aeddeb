/**
 * `select`: keeps only the listed fields of each record, in the listed order.
 *
 * A listed field that a record does not have stays absent from the output record (it is not
 * set to null), so optional fields stay optional. Field names are top-level names taken
 * literally.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Processor from "../Processor.ts"
import * as Spec from "../Spec.ts"
import { selectStep } from "./internal/steps.ts"

/**
 * The config Schema of `select`: the field names to keep (at least one, no duplicates).
 *
 * @category config
 * @since 0.1.0
 */
export const SelectConfig = Schema.Struct({
  fields: Schema.Array(Schema.String).annotate({ description: "The fields to keep, in this order; the others are dropped" })
})

/**
 * The decoded config of `select`.
 *
 * @category config
 * @since 0.1.0
 */
export type SelectConfig = typeof SelectConfig.Type

/**
 * The `select` processor definition (YAML `type: select`).
 *
 * @category definitions
 * @since 0.1.0
 */
export const SelectDefinition: Processor.ProcessorDefinition<SelectConfig> = Processor.define({
  type: "select",
  description: "keeps only the listed fields (`fields`), in that order",
  config: SelectConfig,
  make: (config) => {
    if (config.fields.length === 0) return Processor.configIssue(["fields"], "list at least one field")
    const seen = new Set<string>()
    for (let i = 0; i < config.fields.length; i++) {
      const f = config.fields[i]
      if (seen.has(f)) return Processor.configIssue(["fields", i], `field '${f}' is listed twice`)
      seen.add(f)
    }
    return Processor.stateless({ _tag: "map", f: selectStep(config.fields) })
  }
})

/**
 * A typed `select` spec for the DSL: the output record type is `Pick<A, K>`, so selecting a
 * field that `A` does not have is a compile error.
 *
 * @example
 * ```ts
 * selectSpec<Order, "id" | "amount">(["id", "amount"])
 * ```
 * @category specs
 * @since 0.1.0
 */
export const selectSpec = <A, K extends keyof A & string>(fields: ReadonlyArray<K>): Spec.ProcessorSpec<A, Pick<A, K>> =>
  Spec.processor<A, Pick<A, K>>("select", { fields })
