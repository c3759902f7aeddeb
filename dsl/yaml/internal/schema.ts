/**
 * Decoding a plain value through an Effect Schema, collecting every issue with its key path
 * (for definition errors that name the key at fault).
 */
import { Cause, Exit, Schema, SchemaIssue } from "effect"

/** One decoding problem: the key path (relative to the decoded value) and a message. */
export interface PathIssue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const segment = (p: unknown): PropertyKey =>
  typeof p === "object" && p !== null && "key" in p ? (p.key as PropertyKey) : (p as PropertyKey)

/** Decodes `input`, reporting every issue (not just the first) and refusing unknown keys. */
export const decodeAll = <A>(
  schema: Schema.Decoder<A>,
  input: unknown
): { readonly ok: true; readonly value: A } | { readonly ok: false; readonly issues: ReadonlyArray<PathIssue> } => {
  const exit = Schema.decodeUnknownExit(schema, { errors: "all", onExcessProperty: "error" })(input)
  if (Exit.isSuccess(exit)) return { ok: true, value: exit.value }
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "Some" && Schema.isSchemaError(error.value)) {
    const result = formatter(error.value.issue)
    return {
      ok: false,
      issues: result.issues.map((i) => ({ path: (i.path ?? []).map(segment), message: i.message }))
    }
  }
  return { ok: false, issues: [{ path: [], message: Cause.pretty(exit.cause) }] }
}

/** The candidate closest to `word` by edit distance, if close enough to be a likely misspelling. */
export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  const w = word.toLowerCase()
  for (const candidate of candidates) {
    const c = candidate.toLowerCase()
    let prev = Array.from({ length: c.length + 1 }, (_, j) => j)
    for (let i = 1; i <= w.length; i++) {
      const cur = [i]
      for (let j = 1; j <= c.length; j++) {
        cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (w[i - 1] === c[j - 1] ? 0 : 1))
      }
      prev = cur
    }
    const d = prev[c.length]
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}
