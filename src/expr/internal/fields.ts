/**
 * The record fields an expression reads at its root (`amount` in `amount * 2`, `address` in
 * `address.city`, `first name` in `` `first name` `` or `$['first name']`), with their columns:
 * what a check against the fields a workflow's records have (before anything runs) needs.
 */
import { type Node, parse } from "./parser.ts"

/** A root field read by an expression, and the column where it is named. */
export interface FieldRead {
  readonly name: string
  readonly column: number
}

const walk = (node: Node, out: Array<FieldRead>): void => {
  switch (node.kind) {
    case "field":
      out.push({ name: node.name, column: node.column })
      return
    case "member":
      walk(node.target, out)
      return
    case "index":
      // `$['name']`: a field of the root by a constant name
      if (node.target.kind === "root" && node.index.kind === "literal" && typeof node.index.value === "string") {
        out.push({ name: node.index.value, column: node.index.column })
      } else walk(node.target, out)
      walk(node.index, out)
      return
    case "list":
      for (const item of node.items) walk(item, out)
      return
    case "unary":
      walk(node.operand, out)
      return
    case "binary":
    case "in":
      walk(node.left, out)
      walk(node.right, out)
      return
    case "call":
      for (const arg of node.args) walk(arg, out)
      return
    case "literal":
    case "root":
      return
  }
}

/** The root fields `text` reads, in order of appearance (`undefined`: it does not parse). */
export const fieldsRead = (text: string): ReadonlyArray<FieldRead> | undefined => {
  const parsed = parse(text)
  if (!("ast" in parsed)) return undefined
  const out: Array<FieldRead> = []
  walk(parsed.ast, out)
  return out
}
