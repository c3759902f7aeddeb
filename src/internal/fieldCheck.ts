/**
 * Expression steps checked against the fields the records have, when the workflow is prepared:
 * where a source declares its records' exact fields (`SourceDefinition.fields`: a CSV without a
 * header row with `columns`, records given in the config), the fields flow through the steps
 * that keep or compute them (`filter`, `map` with `fields`, `select`, `rename`), and a `filter`
 * condition or a `map` field expression that reads another field is a definition error naming
 * the field (a misspelt field reads as null on every record: `amout >= 3` would drop them all),
 * and so is a `rename` onto a field the records have (it would overwrite that field's value).
 * After any other step (a function, a stateful operator, a side output) the fields are not known
 * and nothing is checked. The typed DSL checks the same at compile time from its record types.
 */
import type { DefinitionIssue } from "../Errors.ts"
import { fieldsRead } from "../expr/Expression.ts"
import { renameClash } from "../processors/internal/steps.ts"
import * as WorkflowGraph from "../WorkflowGraph.ts"
import type { PreparedNode } from "./prepare.ts"
import { closest } from "./suggest.ts"

type Fields = ReadonlySet<string> | undefined

const isRecordOfStrings = (u: unknown): u is { readonly [key: string]: string } =>
  typeof u === "object" && u !== null && !Array.isArray(u) && Object.values(u).every((v) => typeof v === "string")

const configOf = (node: WorkflowGraph.Node): { readonly [key: string]: unknown } =>
  typeof node.config === "object" && node.config !== null ? node.config as { readonly [key: string]: unknown } : {}

/** The union of the fields of a node's inputs (unknown when any input's are). */
const inputFields = (node: WorkflowGraph.Node, of: (id: string) => Fields): Fields => {
  if (node.inputs.length === 0) return undefined
  const union = new Set<string>()
  for (const input of node.inputs) {
    const f = of(input)
    if (f === undefined) return undefined
    for (const name of f) union.add(name)
  }
  return union
}

/** The fields of the records each node emits, where known. */
const fieldsOfNodes = (
  graph: WorkflowGraph.WorkflowGraph,
  prepared: ReadonlyMap<string, PreparedNode>
): ((id: string) => Fields) => {
  const memo = new Map<string, Fields>()
  const visiting = new Set<string>()
  const of = (id: string): Fields => {
    if (memo.has(id)) return memo.get(id)
    const node = WorkflowGraph.node(graph, id)
    // a side output (`agg.late`), an unknown id or a cycle: not known
    if (node === undefined || visiting.has(id)) return undefined
    visiting.add(id)
    let out: Fields
    const p = prepared.get(id)
    if (node.kind === "source") {
      const declared = p?.kind === "source" ? p.source.fields : undefined
      out = declared === undefined ? undefined : new Set(declared)
    } else if (node.kind === "processor") {
      const config = configOf(node)
      const input = inputFields(node, of)
      switch (node.type) {
        case "filter":
          out = input
          break
        case "map":
          out = input !== undefined && isRecordOfStrings(config.fields) ? new Set([...input, ...Object.keys(config.fields)]) : undefined
          break
        case "select":
          out = Array.isArray(config.fields) && config.fields.every((f) => typeof f === "string")
            ? new Set(config.fields as ReadonlyArray<string>)
            : undefined
          break
        case "rename": {
          const renames = config.fields
          out = input !== undefined && isRecordOfStrings(renames)
            ? new Set([...input].map((name) => renames[name] ?? name))
            : undefined
          break
        }
        default:
          out = undefined
      }
    }
    visiting.delete(id)
    memo.set(id, out)
    return out
  }
  return of
}

/** The expressions of a node, with the config path each is at. */
const expressionsOf = (node: WorkflowGraph.Node): ReadonlyArray<{ readonly path: ReadonlyArray<string>; readonly text: string }> => {
  const config = configOf(node)
  if (node.type === "filter" && typeof config.condition === "string") return [{ path: ["config", "condition"], text: config.condition }]
  if (node.type === "map" && isRecordOfStrings(config.fields)) {
    return Object.entries(config.fields).map(([key, text]) => ({ path: ["config", "fields", key], text }))
  }
  return []
}

/**
 * The renames of a `rename` node that would overwrite a field its input records have (a field of
 * the new name that is not itself renamed away): refused, since every record would lose that value.
 */
const renameIssues = (graph: WorkflowGraph.WorkflowGraph, node: WorkflowGraph.Node, input: Fields): ReadonlyArray<DefinitionIssue> => {
  const renames = configOf(node).fields
  if (input === undefined || !isRecordOfStrings(renames)) return []
  const issues: Array<DefinitionIssue> = []
  for (const [from, to] of Object.entries(renames)) {
    if (!input.has(from) || !input.has(to) || Object.hasOwn(renames, to)) continue
    const path = ["config", "fields", from]
    const location = graph.sourceMap?.locate(node.id, path)
    issues.push({
      path: WorkflowGraph.describePath(graph, node.id, path),
      message: renameClash(node.id, from, to, "records'"),
      ...(location !== undefined ? { location } : {})
    })
  }
  return issues
}

/**
 * The definition issues of expression steps that read a field their input records do not have
 * (only where the input's fields are known).
 */
export const unknownFieldIssues = (
  graph: WorkflowGraph.WorkflowGraph,
  prepared: ReadonlyMap<string, PreparedNode>
): ReadonlyArray<DefinitionIssue> => {
  const fieldsOf = fieldsOfNodes(graph, prepared)
  const issues: Array<DefinitionIssue> = []
  for (const node of graph.nodes) {
    if (node.kind !== "processor") continue
    if (node.type === "rename") {
      issues.push(...renameIssues(graph, node, inputFields(node, fieldsOf)))
      continue
    }
    const expressions = expressionsOf(node)
    if (expressions.length === 0) continue
    const input = inputFields(node, fieldsOf)
    if (input === undefined) continue
    const known = [...input]
    for (const { path, text } of expressions) {
      for (const read of fieldsRead(text) ?? []) {
        if (input.has(read.name)) continue
        const hint = closest(read.name, known)
        const location = graph.sourceMap?.locate(node.id, path)
        issues.push({
          path: WorkflowGraph.describePath(graph, node.id, path),
          message: `the records have no field '${read.name}' (column ${read.column} of the value)${
            hint !== undefined ? ` (did you mean '${hint}'?)` : ""
          }; their fields: ${known.join(", ")}`,
          ...(location !== undefined ? { location } : {})
        })
      }
    }
  }
  return issues
}
