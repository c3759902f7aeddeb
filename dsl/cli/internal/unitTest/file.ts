/**
 * The tests file of `dataflare test`: parsed with positions, so every problem names the tests
 * file's `file:line:column` and the key at fault (`tests[1].expect.out[0]`).
 *
 * ```yaml
 * env:                        # optional: variables the workflow's ${VAR} references read (these win)
 *   DATABASE_URL: postgres://unused
 * tests:
 *   - name: keeps the large orders
 *     inputs:                 # node id → records: a source's records, or records fed to a processor
 *       orders:
 *         - { id: 1, amount: 250 }
 *     expect:                 # node id (or node.port) → the records it must output (a sink: write)
 *       out:
 *         - { id: 1, amount: 250 }
 *     ordered: false          # optional: compare as a multiset (default: in order)
 *     match: subset           # optional: compare only the fields each expected record names
 *   - name: a string amount is refused
 *     inputs: { orders: [{ id: 1, amount: lots }] }
 *     expect_error: { node: large, message: cannot compare }   # the run must fail there
 * ```
 */
import { LineCounter, parseDocument, type ScalarTag } from "yaml"
import { isMap, isScalar, isSeq, type Node as YamlNode } from "yaml"
import type { DefinitionIssue, Location } from "../../../../src/Errors.ts"
import type { Match } from "./compare.ts"
import { findPair, formatPath, keyText, locationOf, type Source, toJS, Unreadable } from "../../../yaml/internal/document.ts"

/** Records for one node of a test, with where the tests file gives them. */
export interface NodeRecords {
  readonly node: string
  readonly records: ReadonlyArray<unknown>
  /** Dotted path in the tests file (`tests[0].inputs.orders`). */
  readonly path: string
  readonly location: Location | undefined
}

/** A failure a test expects instead of records: in `node`, its message containing `message`. */
export interface ExpectedError {
  readonly node: string
  readonly message?: string
  readonly path: string
  readonly location: Location | undefined
}

/** One test case. */
export interface TestCase {
  readonly name: string
  readonly index: number
  readonly location: Location | undefined
  readonly path: string
  readonly inputs: ReadonlyArray<NodeRecords>
  readonly expect: ReadonlyArray<NodeRecords>
  /** The run must fail in this node (then `expect` is empty). */
  readonly expectError?: ExpectedError
  /** Compare records in order (default) or as a multiset. */
  readonly ordered: boolean
  /** Compare every field (default) or only those each expected record names. */
  readonly match: Match
}

/** The parsed tests file, or every problem found in it. */
export type Parsed =
  | { readonly ok: true; readonly cases: ReadonlyArray<TestCase>; readonly env: { readonly [name: string]: string } }
  | { readonly ok: false; readonly issues: ReadonlyArray<DefinitionIssue> }

const CASE_KEYS = ["name", "inputs", "expect", "expect_error", "ordered", "match"] as const

/**
 * `!!timestamp 2024-03-01T10:20:30Z`: a `Date`, as a csv `timestamp` column or a database
 * source gives one (explicit only: an unquoted date without the tag stays a string, as in the
 * workflow file). Without an offset it is UTC; a date or time that does not exist is an error
 * at its place.
 */
const timestampTag: ScalarTag = {
  tag: "tag:yaml.org,2002:timestamp",
  identify: (value) => value instanceof Date,
  resolve: (value, onError) => {
    const text = value.trim()
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/.exec(text)
    // a day or time that does not exist is refused (Date would roll 2024-02-30 over to March 1)
    const exists = m !== null && new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).getUTCDate() === Number(m[3]) &&
      Number(m[2]) >= 1 && Number(m[2]) <= 12 && Number(m[4] ?? 0) < 24 && Number(m[5] ?? 0) < 60 && Number(m[6] ?? 0) < 60
    // without an offset a time is UTC (as the csv source reads it), not the machine's local time
    const utc = m !== null && m[4] !== undefined && !/([Zz]|[+-]\d{2}:?\d{2})$/.test(text) ? "Z" : ""
    const date = exists ? new Date(text.replace(" ", "T") + utc) : undefined
    if (date === undefined || Number.isNaN(date.getTime())) {
      onError(`!!timestamp ${JSON.stringify(value)}: expected an ISO-8601 date or time (2024-03-01, 2024-03-01T10:20:30Z)`)
      return value
    }
    return date
  }
}

/** Parses a tests file's text (`file` is the name used in locations). */
export const parseTests = (text: string, file: string): Parsed => {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, customTags: [timestampTag] })
  const source: Source = { file, text, doc, lines }
  const issues: Array<DefinitionIssue> = []
  const issue = (path: ReadonlyArray<PropertyKey>, node: unknown, message: string) => {
    const location = locationOf(source, node) ?? { file, line: 1, column: 1 }
    issues.push({ path: formatPath(path), message, location })
  }
  for (const error of doc.errors) {
    const { line, col } = lines.linePos(error.pos[0])
    issues.push({ path: "", message: `YAML: ${error.message.split("\n")[0]}`, location: { file, line, column: col } })
  }
  if (issues.length > 0) return { ok: false, issues }
  const root = doc.contents
  if (!isMap(root)) {
    issue([], root, "a tests file is a mapping with a 'tests' list")
    return { ok: false, issues }
  }
  for (const pair of root.items) {
    const key = keyText(pair)
    if (key !== "tests" && key !== "env") issue([key ?? "?"], pair.key, "unknown key (a tests file has 'tests' and 'env')")
  }
  const env: { [name: string]: string } = {}
  const envNode = findPair(root, "env")?.value
  if (envNode !== undefined && !(isScalar(envNode) && envNode.value === null)) {
    if (!isMap(envNode)) issue(["env"], envNode, "expected a mapping of variable name → value")
    else {
      for (const pair of envNode.items) {
        const name = keyText(pair)
        const value = pair.value
        if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) issue(["env", name ?? "?"], pair.key, "expected a variable name")
        else if (isScalar(value) && ["string", "number", "boolean"].includes(typeof value.value)) env[name] = String(value.value)
        else issue(["env", name], value ?? pair.key, "expected a string, number or boolean")
      }
    }
  }
  const tests = findPair(root, "tests")?.value
  if (!isSeq(tests) || tests.items.length === 0) {
    issue(["tests"], tests ?? root, "expected a non-empty list of tests")
    return { ok: false, issues }
  }
  const cases: Array<TestCase> = []
  const names = new Map<string, number>()
  for (const [index, item] of tests.items.entries()) {
    const at: ReadonlyArray<PropertyKey> = ["tests", index]
    if (!isMap(item)) {
      issue(at, item, "expected a mapping with name, inputs and expect")
      continue
    }
    for (const pair of item.items) {
      const key = keyText(pair)
      if (key === undefined || !(CASE_KEYS as ReadonlyArray<string>).includes(key)) {
        issue([...at, key ?? "?"], pair.key, `unknown key (a test has ${CASE_KEYS.join(", ")})`)
      }
    }
    const nameNode = findPair(item, "name")?.value
    const name = isScalar(nameNode) && typeof nameNode.value === "string" && nameNode.value.trim() !== "" ? nameNode.value : undefined
    if (name === undefined) issue([...at, "name"], nameNode ?? item, "expected the test's name (a non-empty string)")
    else if (names.has(name)) issue([...at, "name"], nameNode, `a second test named '${name}' (test ${names.get(name)} has it)`)
    else names.set(name, index + 1)
    const orderedNode = findPair(item, "ordered")?.value
    let ordered = true
    if (orderedNode !== undefined) {
      if (isScalar(orderedNode) && typeof orderedNode.value === "boolean") ordered = orderedNode.value
      else issue([...at, "ordered"], orderedNode, "expected true or false")
    }
    const matchNode = findPair(item, "match")?.value
    let match: Match = "exact"
    if (matchNode !== undefined) {
      if (isScalar(matchNode) && (matchNode.value === "exact" || matchNode.value === "subset")) match = matchNode.value
      else issue([...at, "match"], matchNode, "expected exact (every field) or subset (the fields each expected record names)")
    }
    const inputs = nodeRecords(source, item, [...at, "inputs"], issue, false)
    const errorPair = findPair(item, "expect_error")
    const expectError = errorPair === undefined ? undefined : expectedError(source, errorPair.value, [...at, "expect_error"], issue)
    if (errorPair !== undefined && findPair(item, "expect") !== undefined) {
      issue([...at, "expect_error"], errorPair.key, "a test expects records (expect) or a failure (expect_error), not both")
    }
    const expect = errorPair === undefined ? nodeRecords(source, item, [...at, "expect"], issue, true) : []
    if (name !== undefined && inputs !== undefined && expect !== undefined && (errorPair === undefined || expectError !== undefined)) {
      const base = { name, index, location: locationOf(source, item), path: formatPath(at), inputs, expect, ordered, match }
      cases.push(expectError === undefined ? base : { ...base, expectError })
    }
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, cases, env }
}

/** `expect_error: { node, message? }`. */
const expectedError = (
  source: Source,
  value: unknown,
  at: ReadonlyArray<PropertyKey>,
  issue: (path: ReadonlyArray<PropertyKey>, node: unknown, message: string) => void
): ExpectedError | undefined => {
  const text = (key: string): string | undefined => {
    const v = findPair(value, key)?.value
    return isScalar(v) && typeof v.value === "string" && v.value !== "" ? v.value : undefined
  }
  if (!isMap(value)) {
    issue(at, value, "expected { node, message? }: the node whose failure the test expects, and text its message contains")
    return undefined
  }
  let ok = true
  for (const pair of value.items) {
    const key = keyText(pair)
    if (key !== "node" && key !== "message") {
      issue([...at, key ?? "?"], pair.key, "unknown key (expect_error has node and message)")
      ok = false
    }
  }
  const node = text("node")
  if (node === undefined) {
    issue([...at, "node"], findPair(value, "node")?.value ?? value, "expected the id of the node that must fail")
    return undefined
  }
  const message = text("message")
  if (findPair(value, "message") !== undefined && message === undefined) {
    issue([...at, "message"], findPair(value, "message")?.value, "expected text the failure's message contains")
    ok = false
  }
  const base = { node, path: formatPath(at), location: locationOf(source, value) }
  return ok ? (message === undefined ? base : { ...base, message }) : undefined
}

/** `inputs` or `expect` of a test: node id → list of records (mappings). */
const nodeRecords = (
  source: Source,
  item: YamlNode,
  at: ReadonlyArray<PropertyKey>,
  issue: (path: ReadonlyArray<PropertyKey>, node: unknown, message: string) => void,
  required: boolean
): ReadonlyArray<NodeRecords> | undefined => {
  const key = String(at[at.length - 1])
  const value = findPair(item, key)?.value
  if (value === undefined || (isScalar(value) && value.value === null)) {
    if (required) issue(at, item, `expected '${key}': node id → the records it must output`)
    return required ? undefined : []
  }
  if (!isMap(value) || value.items.length === 0) {
    issue(at, value, `expected a mapping of node id → list of records`)
    return undefined
  }
  const out: Array<NodeRecords> = []
  let ok = true
  for (const pair of value.items) {
    const node = keyText(pair)
    const path = [...at, node ?? "?"]
    if (node === undefined || node === "") {
      issue(path, pair.key, "expected a node id")
      ok = false
      continue
    }
    const list = pair.value
    if (!isSeq(list)) {
      issue(path, list ?? pair.key, "expected a list of records (write [] for none)")
      ok = false
      continue
    }
    const records: Array<unknown> = []
    list.items.forEach((recordNode, i) => {
      const record = toJS(source, recordNode)
      if (record instanceof Unreadable) {
        issue([...path, i], recordNode, record.message)
        ok = false
      } else if (record === null || typeof record !== "object" || Array.isArray(record)) {
        issue([...path, i], recordNode, "expected a record (a mapping of field → value)")
        ok = false
      } else records.push(record)
    })
    out.push({ node, records, path: formatPath(path), location: locationOf(source, pair.key) })
  }
  return ok ? out : undefined
}
