/**
 * The record fields an expression reads at its root (`amount` in `amount * 2`, `address` in
 * `address.city`, `first name` in `` `first name` ``, `$['first name']` or `$.name`), with their
 * columns: what a check against the fields a workflow's records have (before anything runs) needs,
 * and whether the expression uses the record as a whole (`$` other than to name one field, e.g.
 * `$[key]` or `length($)`), which makes its read set every field: what a reader that converts
 * only the fields a filter reads needs before it may.
 */
import { type Node, parse } from "./parser.ts"

/** A root field read by an expression, and the column where it is named. */
export interface FieldRead {
  readonly name: string
  readonly column: number
}

/** What an expression reads of its record. */
export interface ReadSet {
  /** The root fields it names, in order of appearance. */
  readonly fields: ReadonlyArray<FieldRead>
  /** It uses the record itself (`$` not followed by a constant field name): it may read any field. */
  readonly wholeRecord: boolean
}

interface Walk {
  readonly out: Array<FieldRead>
  whole: boolean
}

const walk = (node: Node, w: Walk): void => {
  switch (node.kind) {
    case "field":
      w.out.push({ name: node.name, column: node.column })
      return
    case "member":
      // `$.name`: a field of the root by name
      if (node.target.kind === "root") w.out.push({ name: node.key, column: node.column })
      else walk(node.target, w)
      return
    case "index":
      // `$['name']`: a field of the root by a constant name
      if (node.target.kind === "root" && node.index.kind === "literal" && typeof node.index.value === "string") {
        w.out.push({ name: node.index.value, column: node.index.column })
      } else walk(node.target, w)
      walk(node.index, w)
      return
    case "list":
      for (const item of node.items) walk(item, w)
      return
    case "unary":
      walk(node.operand, w)
      return
    case "binary":
    case "in":
      walk(node.left, w)
      walk(node.right, w)
      return
    case "call":
      for (const arg of node.args) walk(arg, w)
      return
    case "root":
      w.whole = true
      return
    case "literal":
      return
  }
}

/** What `text` reads of its record (`undefined`: it does not parse). */
export const readSet = (text: string): ReadSet | undefined => {
  const parsed = parse(text)
  if (!("ast" in parsed)) return undefined
  const w: Walk = { out: [], whole: false }
  walk(parsed.ast, w)
  return { fields: w.out, wholeRecord: w.whole }
}

/** The root fields `text` reads, in order of appearance (`undefined`: it does not parse). */
export const fieldsRead = (text: string): ReadonlyArray<FieldRead> | undefined => readSet(text)?.fields
