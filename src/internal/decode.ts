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

/** The value at a key path of a decoded input (`undefined` when the path leads nowhere). */
export const valueAt = (value: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let current = value
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined
    current = (current as { readonly [key: PropertyKey]: unknown })[segment]
  }
  return current
}

/**
 * A Schema message as definition errors write it: `expected ..., got <value>` (Schema messages
 * read "Expected ..." and do not say what was found).
 */
export const withValue = (message: string, value: unknown): string => {
  const text = message.length > 0 ? message[0].toLowerCase() + message.slice(1) : message
  if (value === undefined || /\bgot\b/.test(text)) return text
  return `${text}, got ${typeof value === "string" ? JSON.stringify(value) : String(value)}`
}

