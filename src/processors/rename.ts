/**
 * `rename`: renames fields (old name → new name), keeping every other field and the field order.
 *
 * A renamed field takes the place of the old one. A record that already has a field with the new
 * name (not itself renamed) is refused with a `RecordError` naming the node and both fields — the
 * rename would overwrite that value (`on_error` decides: fail the run, or set the record aside);
 * where the records' fields are known when the workflow is prepared, that is a definition error
 * instead (`src/internal/fieldCheck.ts`). A listed old name that a record does not have changes
 * nothing. Swaps (`{ a: b, b: a }`) and chains (`{ a: b, b: c }`) work. Two old names renamed to
 * the same new name is a config error.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { RecordError } from "../Errors.ts"
import * as Processor from "../Processor.ts"
import * as Spec from "../Spec.ts"
import { renameStep } from "./internal/steps.ts"

/**
 * The config Schema of `rename`: `fields` maps old names to new names.
 *
 * @category config
 * @since 0.1.0
 */
export const RenameConfig = Schema.Struct({
  fields: Schema.Record(Schema.String, Schema.String).annotate({ description: "Old name → new name; other fields are kept" })
})

/**
 * The decoded config of `rename`.
 *
 * @category config
 * @since 0.1.0
 */
export type RenameConfig = typeof RenameConfig.Type

/**
 * The `rename` processor definition (YAML `type: rename`).
 *
 * @category definitions
 * @since 0.1.0
 */
export const RenameDefinition: Processor.ProcessorDefinition<RenameConfig> = Processor.define({
  type: "rename",
  description: "renames fields (`fields`: old name → new name), keeping the others",
  config: RenameConfig,
  make: (config, context) => {
    const olds = Object.keys(config.fields)
    if (olds.length === 0) return Processor.configIssue(["fields"], "list at least one field to rename")
    const byNew = new globalThis.Map<string, string>()
    for (const o of olds) {
      const n = config.fields[o]
      if (n.length === 0) return Processor.configIssue(["fields", o], "the new name is empty")
      const other = byNew.get(n)
      if (other !== undefined) {
        return Processor.configIssue(["fields", o], `'${other}' and '${o}' are both renamed to '${n}'`)
      }
      byNew.set(n, o)
    }
    const site = context.site
    const clash = (detail: string, record: unknown, field: string) =>
      new RecordError({
        detail,
        field,
        record,
        ...(site !== undefined ? { definition: site(["fields", targets.get(field) ?? field]) } : {})
      })
    const targets = new globalThis.Map<string, string>(olds.map((o) => [config.fields[o], o]))
    return Processor.stateless({ _tag: "map", f: renameStep(config.fields, context.node, clash) })
  }
})

/**
 * The record type after renaming with `M` (old → new): renamed keys get their new names, and a
 * key that a rename overwrites is dropped.
 *
 * @category specs
 * @since 0.1.0
 */
export type Renamed<A, M extends { readonly [K in keyof A]?: string }> = {
  readonly [K in keyof A as K extends keyof M ? (M[K] extends string ? M[K] : K) : K extends M[keyof M] ? never : K]: A[K]
}

/**
 * A typed `rename` spec for the DSL: renaming a field that `A` does not have is a compile error,
 * and the output type carries the new names.
 *
 * @example
 * ```ts
 * renameSpec<Customer, { name: "full_name" }>({ name: "full_name" })
 * ```
 * @category specs
 * @since 0.1.0
 */
export const renameSpec = <A, const M extends { readonly [K in keyof A]?: string }>(
  fields: M
): Spec.ProcessorSpec<A, Renamed<A, M>> => Spec.processor<A, Renamed<A, M>>("rename", { fields })
