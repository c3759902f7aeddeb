/**
 * Decoding of untrusted config values through a Schema, returning either the value or a list of
 * issues with their paths (for definition errors that name the key at fault).
 */
import { Cause, Exit, Schema, SchemaIssue } from "effect"

export interface PathIssue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Decodes `input`, reporting every issue (not just the first) and refusing unknown keys (or, with
 * `excess: "ignore"`, leaving them out of the value).
 */
export const decodeAll = <A>(
  schema: Schema.Decoder<A>,
  input: unknown,
  excess: "error" | "ignore" = "error"
): { readonly ok: true; readonly value: A } | { readonly ok: false; readonly issues: ReadonlyArray<PathIssue> } => {
  const exit = Schema.decodeUnknownExit(schema, { errors: "all", onExcessProperty: excess })(input)
  if (Exit.isSuccess(exit)) return { ok: true, value: exit.value }
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "Some" && Schema.isSchemaError(error.value)) {
    const result = formatter(error.value.issue)
    return {
      ok: false,
      issues: result.issues.map((i) => ({
        path: (i.path ?? []).map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p)) as ReadonlyArray<PropertyKey>,
        message: i.message
      }))
    }
  }
  return { ok: false, issues: [{ path: [], message: Cause.pretty(exit.cause) }] }
}
