/**
 * Turns the text of a YAML workflow into a {@link WorkflowGraph}, or into every problem found,
 * each with its file, line, column and dotted key path.
 *
 * Order: YAML syntax (nothing else is checked when the text does not parse), then `${VAR}`
 * substitution, then the workflow's shape (top-level keys, `execution`, nodes). Checks that need
 * the registry (node types, configs, inputs naming existing nodes) belong to `Runtime.prepare`,
 * which finds their places through the graph's source map.
 */
import type { Pair } from "yaml"
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml"
import type { DefinitionIssue, Location } from "../../../src/Errors.ts"
import * as WorkflowGraph from "../../../src/WorkflowGraph.ts"
import { MAX_NESTING, refuseText, tooDeep } from "./guard.ts"
import { deref, describeValue, findPair, formatPath, keyText, locationAt, locationOf, type Source, toJS, Unreadable } from "./document.ts"
import { type Env, substituteDocument } from "./env.ts"
import { decodeAll } from "../../../src/internal/decode.ts"
import { closest } from "../../../src/internal/suggest.ts"
import { make as makeSourceMap, type NodeEntry } from "./sourceMap.ts"

/** The top-level keys of a workflow file. */
export const TOP_LEVEL_KEYS = ["name", "version", "execution", "sources", "transformations", "destinations"] as const

/** The keys a node may have. */
export const NODE_KEYS = ["type", "inputs", "parallelism", "config", "key_by", "ordered", "on_error", "dead_letter"] as const

/** Node keys of transformations only (a connector's `on_error` / `dead_letter` go in its config). */
export const PROCESSOR_KEYS: ReadonlyArray<string> = ["on_error", "dead_letter"]

const SECTIONS: ReadonlyArray<readonly [string, WorkflowGraph.NodeKind]> = [
  ["sources", "source"],
  ["transformations", "processor"],
  ["destinations", "sink"]
]

const EXECUTION_KEYS = Object.keys(WorkflowGraph.ExecutionSettings.fields)

/** The result of loading: a graph, or the issues found. */
export type Loaded =
  | { readonly ok: true; readonly graph: WorkflowGraph.WorkflowGraph }
  | { readonly ok: false; readonly issues: ReadonlyArray<DefinitionIssue> }

const unknownKey = (key: string, valid: ReadonlyArray<string>, where: string): string => {
  const hint = closest(key, valid)
  return `unknown key '${key}' ${where}${hint !== undefined ? ` (did you mean '${hint}'?)` : ""}; valid keys: ${
    valid.join(", ")
  }`
}

const isPositiveInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v > 0

/** Loads a workflow from YAML text. `file` names the text in locations. */
export const load = (text: string, file: string, env: Env): Loaded => {
  const refused = refuseText(text, file)
  if (refused !== undefined) return { ok: false, issues: [refused] }
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const source: Source = { file, text, doc, lines }
  if (doc.errors.length > 0) {
    // Only the first: the parser's later errors are mostly consequences of it.
    return {
      ok: false,
      issues: doc.errors.slice(0, 1).map((e) => ({
        path: "",
        message: e.code === "MULTIPLE_DOCS"
          ? "a workflow file holds one YAML document: remove the second one (from its '---')"
          : e.message.includes("call stack")
          ? `the document is nested too deeply to read (a workflow nests at most ${MAX_NESTING} levels)`
          : `YAML syntax error: ${e.message}${flowHint(text, e.pos[0])}`,
        location: locationAt(source, Math.min(e.pos[0], text.length))
      }))
    }
  }
  const deep = tooDeep(doc.contents)
  if (deep !== undefined) {
    return {
      ok: false,
      issues: [{
        path: "",
        message: `mappings and lists are nested more than ${MAX_NESTING} levels deep here; a workflow needs a handful`,
        location: locationOf(source, deep) ?? { file }
      }]
    }
  }
  const substituted = substituteDocument(source, env)
  const issues: Array<DefinitionIssue> = [...substituted.issues]
  const entries = new Map<string, NodeEntry>()
  const sourceMap = makeSourceMap(source, entries)

  /** Adds an issue at the place of a node-relative (or top-level) path, unless already reported. */
  const report = (node: string | undefined, path: ReadonlyArray<PropertyKey>, message: string, at?: Location): void => {
    const dotted = sourceMap.describe(node, path)
    if (substituted.failed.has(dotted)) return
    const location = at ?? sourceMap.locate(node, path)
    issues.push({ path: dotted, message, ...(location !== undefined ? { location } : {}) })
  }

  const root = doc.contents
  if (root === null || (isScalar(root) && root.value === null)) {
    report(undefined, [], "the file is empty: a workflow needs at least 'name', 'sources' and 'destinations'", {
      file,
      line: 1,
      column: 1
    })
    return { ok: false, issues }
  }
  if (!isMap(root)) {
    report(undefined, [], `a workflow is a mapping of ${TOP_LEVEL_KEYS.join(", ")}; got ${describeValue(root)}`)
    return { ok: false, issues }
  }

  for (const pair of root.items) {
    const key = keyText(pair)
    if (key === undefined) report(undefined, [], "a key must be a name", locationOf(source, pair.key))
    else if (!(TOP_LEVEL_KEYS as ReadonlyArray<string>).includes(key)) {
      report(undefined, [key], unknownKey(key, TOP_LEVEL_KEYS, "at the top level"))
    }
  }

  // name and version
  let name = ""
  const namePair = findPair(root, "name")
  if (namePair === undefined) report(undefined, ["name"], "missing required key 'name' (the workflow's name)")
  else {
    const value = deref(source, namePair.value)
    if (isScalar(value) && typeof value.value === "string" && value.value.trim().length > 0) name = value.value
    else report(undefined, ["name"], `expected a non-empty string, got ${describeValue(value)}`)
  }
  let version: string | undefined
  const versionPair = findPair(root, "version")
  if (versionPair !== undefined) {
    const value = deref(source, versionPair.value)
    if (isScalar(value) && typeof value.value === "string") version = value.value
    else if (isScalar(value) && typeof value.value === "number") version = value.source ?? String(value.value)
    else report(undefined, ["version"], `expected a string such as "1.0", got ${describeValue(value)}`)
  }

  // execution
  let execution: WorkflowGraph.ExecutionSettings = {}
  const executionPair = findPair(root, "execution")
  const executionNode = executionPair === undefined ? undefined : deref(source, executionPair.value)
  if (executionNode !== undefined && executionNode !== null && !(isScalar(executionNode) && executionNode.value === null)) {
    if (!isMap(executionNode)) {
      report(undefined, ["execution"], `expected a mapping of ${EXECUTION_KEYS.join(", ")}; got ${describeValue(executionNode)}`)
    } else {
      const known: { [key: string]: unknown } = {}
      for (const pair of executionNode.items) {
        const key = keyText(pair) ?? "?"
        if (EXECUTION_KEYS.includes(key)) {
          const value = toJS(source, pair.value)
          if (value instanceof Unreadable) report(undefined, ["execution", key], value.message)
          else known[key] = value
        } else report(undefined, ["execution", key], unknownKey(key, EXECUTION_KEYS, "in 'execution'"))
      }
      const decoded = decodeAll(WorkflowGraph.ExecutionSettings, known)
      if (decoded.ok) execution = decoded.value
      else {
        for (const issue of decoded.issues) {
          report(undefined, ["execution", ...issue.path], withValue(issue.message, valueAt(known, issue.path)))
        }
      }
    }
  }

  // nodes
  const nodes: Array<WorkflowGraph.Node> = []
  const counts = new Map<string, number>()
  for (const [section, kind] of SECTIONS) {
    const sectionPair = findPair(root, section)
    const sectionNode = sectionPair === undefined ? undefined : deref(source, sectionPair.value)
    if (sectionNode === undefined || sectionNode === null || (isScalar(sectionNode) && sectionNode.value === null)) continue
    if (!isMap(sectionNode)) {
      report(undefined, [section], `expected a mapping of node id → node; got ${describeValue(sectionNode)}`)
      continue
    }
    for (const pair of sectionNode.items) {
      const id = keyText(pair)
      if (id === undefined || id.length === 0) {
        report(undefined, [section], "a node id must be a non-empty name", locationOf(source, pair.key))
        continue
      }
      counts.set(section, (counts.get(section) ?? 0) + 1)
      const first = entries.get(id)
      if (first !== undefined) {
        const firstAt = locationOf(source, first.pair.key)
        report(
          undefined,
          [section, id],
          `duplicate node id '${id}': already defined as ${formatPath([first.section, id])}${
            firstAt?.line !== undefined ? ` (line ${firstAt.line})` : ""
          }; node ids are unique across sources, transformations and destinations`,
          locationOf(source, pair.key)
        )
        continue
      }
      entries.set(id, { section, pair })
      const node = decodeNode(source, id, kind, pair, report)
      if (node !== undefined) nodes.push(node)
    }
  }
  if ((counts.get("sources") ?? 0) === 0) {
    report(undefined, ["sources"], "a workflow needs at least one source")
  }
  if ((counts.get("destinations") ?? 0) === 0) {
    report(undefined, ["destinations"], "a workflow needs at least one destination")
  }

  if (issues.length > 0) return { ok: false, issues: sortByLocation(issues) }
  return {
    ok: true,
    graph: WorkflowGraph.make({ name, version, execution, nodes, sourceMap })
  }
}

/** `key: ${VAR}` inside a flow collection does not parse (`{` is an indicator there): say so. */
const flowHint = (text: string, offset: number): string => {
  if (text[offset] !== "{" || text[offset - 1] !== "$") return ""
  const end = text.indexOf("}", offset)
  const reference = end > 0 ? text.slice(offset - 1, end + 1) : "$" + "{VAR}"
  return ` (inside { } or [ ], quote a variable: "${reference}")`
}

/** Issues in file order (stable for issues at the same place). */
const sortByLocation = (issues: ReadonlyArray<DefinitionIssue>): ReadonlyArray<DefinitionIssue> =>
  issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) =>
      (a.issue.location?.line ?? 0) - (b.issue.location?.line ?? 0) ||
      (a.issue.location?.column ?? 0) - (b.issue.location?.column ?? 0) ||
      a.i - b.i
    )
    .map(({ issue }) => issue)

const valueAt = (value: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let current = value
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined
    current = (current as { readonly [key: PropertyKey]: unknown })[segment]
  }
  return current
}

/** Schema messages read "Expected ..."; ours read "expected ..., got <value>". */
const withValue = (message: string, value: unknown): string => {
  const text = message.length > 0 ? message[0].toLowerCase() + message.slice(1) : message
  if (value === undefined || /\bgot\b/.test(text)) return text
  return `${text}, got ${typeof value === "string" ? JSON.stringify(value) : String(value)}`
}

type Report = (node: string | undefined, path: ReadonlyArray<PropertyKey>, message: string, at?: Location) => void

const stringList = (source: Source, node: unknown): ReadonlyArray<string> | undefined => {
  if (!isSeq(node)) return undefined
  const out: Array<string> = []
  for (const item of node.items) {
    const v = deref(source, item)
    if (!isScalar(v) || typeof v.value !== "string" || v.value.length === 0) return undefined
    out.push(v.value)
  }
  return out
}

/** Decodes one node; reports its problems and returns `undefined` when it has any. */
const decodeNode = (
  source: Source,
  id: string,
  kind: WorkflowGraph.NodeKind,
  pair: Pair,
  report: Report
): WorkflowGraph.Node | undefined => {
  const value = deref(source, pair.value)
  const kindWord = kind === "source" ? "source" : kind === "sink" ? "destination" : "transformation"
  const keys = NODE_KEYS.filter((k) => (kind !== "source" || k !== "inputs") && (kind === "processor" || !PROCESSOR_KEYS.includes(k)))
  if (!isMap(value)) {
    report(id, [], `expected a mapping with ${keys.join(", ")}; got ${describeValue(value)}`)
    return undefined
  }
  let ok = true
  const fail = (path: ReadonlyArray<PropertyKey>, message: string): void => {
    ok = false
    report(id, path, message)
  }
  for (const p of value.items) {
    const key = keyText(p) ?? "?"
    if (kind === "source" && key === "inputs") fail(["inputs"], "a source has no inputs")
    else if (kind !== "processor" && PROCESSOR_KEYS.includes(key)) {
      fail([key], `the ${key} of a ${kindWord} goes in its config (config.${key}), where its connector reads it`)
    } else if (!(NODE_KEYS as ReadonlyArray<string>).includes(key)) fail([key], unknownKey(key, keys, `in ${kindWord} '${id}'`))
  }
  const get = (key: string): unknown => {
    const p = findPair(value, key)
    return p === undefined ? undefined : deref(source, p.value)
  }

  let type = ""
  const typeNode = get("type")
  if (typeNode === undefined) fail([], `${kindWord} '${id}' has no 'type'`)
  else if (isScalar(typeNode) && typeof typeNode.value === "string" && typeNode.value.length > 0) type = typeNode.value
  else fail(["type"], `expected a type name such as 'csv' or 'filter', got ${describeValue(typeNode)}`)

  let inputs: ReadonlyArray<string> = []
  if (kind !== "source") {
    const inputsNode = get("inputs")
    if (inputsNode === undefined) fail([], `${kindWord} '${id}' has no 'inputs' (the ids of the nodes it reads from)`)
    else {
      const list = stringList(source, inputsNode)
      if (list !== undefined) inputs = list
      else if (isScalar(inputsNode) && typeof inputsNode.value === "string") {
        fail(["inputs"], `expected a list of node ids, e.g. inputs: [${inputsNode.value}]`)
      } else if (isSeq(inputsNode)) {
        const bad = inputsNode.items.findIndex((item) => {
          const v = deref(source, item)
          return !isScalar(v) || typeof v.value !== "string" || v.value.length === 0
        })
        fail(["inputs", bad], `expected a node id (a string), got ${describeValue(deref(source, inputsNode.items[bad]))}`)
      } else fail(["inputs"], `expected a list of node ids, got ${describeValue(inputsNode)}`)
    }
  }

  let parallelism: number | undefined
  const parallelismNode = get("parallelism")
  if (parallelismNode !== undefined) {
    const v = isScalar(parallelismNode) ? parallelismNode.value : undefined
    if (isPositiveInt(v)) parallelism = v
    else fail(["parallelism"], `expected a positive integer, got ${describeValue(parallelismNode)}`)
  }

  let keyBy: string | ReadonlyArray<string> | undefined
  const keyByNode = get("key_by")
  if (keyByNode !== undefined) {
    if (isScalar(keyByNode) && typeof keyByNode.value === "string" && keyByNode.value.length > 0) keyBy = keyByNode.value
    else {
      const list = stringList(source, keyByNode)
      if (list !== undefined && list.length > 0) keyBy = list
      else fail(["key_by"], `expected a field name or a list of field names, got ${describeValue(keyByNode)}`)
    }
  }

  let ordered: boolean | undefined
  const orderedNode = get("ordered")
  if (orderedNode !== undefined) {
    if (isScalar(orderedNode) && typeof orderedNode.value === "boolean") ordered = orderedNode.value
    else fail(["ordered"], `expected true or false, got ${describeValue(orderedNode)}`)
  }

  let onError: "fail" | "dead_letter" | undefined
  const onErrorNode = get("on_error")
  if (onErrorNode !== undefined) {
    const v = isScalar(onErrorNode) ? onErrorNode.value : undefined
    if (v === "fail" || v === "dead_letter") onError = v
    else fail(["on_error"], `expected fail or dead_letter, got ${describeValue(onErrorNode)}`)
  }
  let deadLetter: WorkflowGraph.DeadLetterTarget | undefined
  const deadLetterNode = get("dead_letter")
  if (deadLetterNode !== undefined) {
    const v = toJS(source, deadLetterNode)
    const o = v !== null && typeof v === "object" && !Array.isArray(v) ? (v as { readonly [k: string]: unknown }) : undefined
    const path = o?.path
    const max = o?.max_bytes
    const to = o?.to
    if (o !== undefined && "to" in o) {
      const extra = Object.keys(o).filter((k) => k !== "to")
      if (typeof to !== "string" || to.length === 0) fail(["dead_letter", "to"], `expected the id of a destination, got ${JSON.stringify(to)}`)
      else if (extra.length > 0) fail(["dead_letter", extra[0]], `unknown key '${extra[0]}' (dead_letter has either to, or path and max_bytes)`)
      else deadLetter = { to }
    } else {
      const extra = o !== undefined ? Object.keys(o).filter((k) => k !== "path" && k !== "max_bytes") : []
      if (typeof path !== "string" || path.length === 0) {
        fail(["dead_letter"], `expected { path, max_bytes? } with a file path or { to } with a destination id, got ${describeValue(deadLetterNode)}`)
      } else if (max !== undefined && !isPositiveInt(max)) fail(["dead_letter", "max_bytes"], `expected a positive integer, got ${JSON.stringify(max)}`)
      else if (extra.length > 0) fail(["dead_letter", extra[0]], `unknown key '${extra[0]}' (dead_letter has path and max_bytes, or to)`)
      else deadLetter = { path, ...(typeof max === "number" ? { max_bytes: max } : {}) }
    }
  }
  if (onError === "dead_letter" && deadLetterNode === undefined) fail(["on_error"], "on_error: dead_letter needs dead_letter: { path } or dead_letter: { to: <destination> }")

  const config = toJS(source, get("config")) ?? {}
  if (config instanceof Unreadable) fail(["config"], config.message)
  if (!ok) return undefined
  return {
    kind,
    id,
    type,
    config,
    inputs,
    ...(parallelism !== undefined ? { parallelism } : {}),
    ...(keyBy !== undefined ? { key_by: keyBy } : {}),
    ...(ordered !== undefined ? { ordered } : {}),
    ...(onError !== undefined ? { on_error: onError } : {}),
    ...(deadLetter !== undefined ? { dead_letter: deadLetter } : {})
  }
}
