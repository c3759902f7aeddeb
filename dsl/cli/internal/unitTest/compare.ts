/**
 * Comparing the records a node output with the records a test expects, and the diff printed when
 * they differ.
 *
 * Records are compared as the tests file can write them (plain YAML data): a `Date` as its ISO
 * text, a `bigint` as a number when it is one exactly (else its digits as a string), a byte array
 * as a list of numbers; fields whose value is `undefined` are absent. Keys are compared whatever
 * their order. Each record is shown as one line of JSON with its keys sorted, so a diff lines up
 * field by field.
 */

/** A record as plain data (see the module doc). */
export const plain = (value: unknown): unknown => {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString()
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()
  }
  if (value instanceof Uint8Array) return Array.from(value)
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: unknown } = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plain(v)
    return out
  }
  return value
}

/** One line of JSON, keys sorted at every level (the form records are compared and shown in). */
export const canonical = (value: unknown): string => {
  const v = plain(value)
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`
  }
  if (typeof v === "number" && !Number.isFinite(v)) return String(v)
  return JSON.stringify(v) ?? "null"
}

/** One line of a diff: ` ` both, `-` expected only, `+` received only. */
export interface DiffLine {
  readonly op: " " | "-" | "+"
  readonly text: string
}

/** The result of comparing: equal, or the diff. */
export interface Comparison {
  readonly equal: boolean
  readonly diff: ReadonlyArray<DiffLine>
}

/** Above this many records on both sides together, the diff pairs lines by position only. */
const MAX_LCS = 4000

/**
 * How a received record matches an expected one: `exact` (every field, no other) or `subset`
 * (the fields the expected record names, with those values; other fields are not compared — a
 * generated id, a processing time).
 */
export type Match = "exact" | "subset"

/** The received record cut to the top-level fields `like` names (a non-record is kept whole). */
const project = (record: unknown, like: unknown): unknown => {
  if (record === null || typeof record !== "object" || like === null || typeof like !== "object") return record
  const out: { [key: string]: unknown } = {}
  for (const key of Object.keys(like)) if (key in record) out[key] = (record as { readonly [key: string]: unknown })[key]
  return out
}

/**
 * Compares expected and received records, in order (`ordered`) or as multisets, each pair as
 * `match` says. In order, the diff is a longest-common-subsequence line diff (with `subset`, the
 * received record at each position is cut to the fields of the expected one at that position);
 * in any order, each expected record takes the first received record that matches it, and the
 * diff lists the matched (` `), the missing (`-`) and the unexpected (`+`) records, sorted.
 */
export const compare = (
  expected: ReadonlyArray<unknown>,
  received: ReadonlyArray<unknown>,
  ordered: boolean,
  match: Match = "exact"
): Comparison => {
  const a = expected.map(canonical)
  if (ordered) {
    const b = received.map((r, i) => canonical(match === "subset" && i < expected.length ? project(r, expected[i]) : r))
    const equal = a.length === b.length && a.every((line, i) => line === b[i])
    return { equal, diff: equal ? [] : lineDiff(a, b) }
  }
  const b = received.map(canonical)
  const pairedWith = match === "exact"
    ? pairEqual(a, b)
    : maximumMatching(expected.map((e, k) => b.flatMap((_, j) => (canonical(project(received[j], e)) === a[k] ? [j] : []))), b.length)
  const lines: Array<DiffLine> = a.map((text, k) => ({ op: pairedWith[k] === -1 ? "-" : " ", text }))
  const taken = new Set(pairedWith)
  for (const [j, text] of b.entries()) if (!taken.has(j)) lines.push({ op: "+", text })
  const equal = lines.every((l) => l.op === " ")
  return { equal, diff: equal ? [] : lines.sort((x, y) => (x.text < y.text ? -1 : x.text > y.text ? 1 : 0)) }
}

/** Each expected line paired with an equal received line not yet taken (or -1). */
const pairEqual = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): ReadonlyArray<number> => {
  const free = new Map<string, Array<number>>()
  for (let j = b.length - 1; j >= 0; j--) {
    const list = free.get(b[j])
    if (list === undefined) free.set(b[j], [j])
    else list.push(j)
  }
  return a.map((text) => free.get(text)?.pop() ?? -1)
}

/**
 * A maximum matching of expected records to received ones (augmenting paths): with `subset`, a
 * record naming fewer fields matches more received ones, and taking the first that fits could
 * leave a more specific expected record without its only match. Returns, per expected record,
 * the received index it is paired with, or -1.
 */
const maximumMatching = (candidates: ReadonlyArray<ReadonlyArray<number>>, receivedCount: number): ReadonlyArray<number> => {
  const owner = new Int32Array(receivedCount).fill(-1)
  const augment = (k: number, seen: Uint8Array): boolean => {
    for (const j of candidates[k]) {
      if (seen[j] === 1) continue
      seen[j] = 1
      if (owner[j] === -1 || augment(owner[j], seen)) {
        owner[j] = k
        return true
      }
    }
    return false
  }
  for (let k = 0; k < candidates.length; k++) augment(k, new Uint8Array(receivedCount))
  const paired = new Array<number>(candidates.length).fill(-1)
  for (let j = 0; j < receivedCount; j++) if (owner[j] !== -1) paired[owner[j]] = j
  return paired
}

const lineDiff = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): ReadonlyArray<DiffLine> => {
  if (a.length + b.length > MAX_LCS) {
    const out: Array<DiffLine> = []
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] === b[i]) out.push({ op: " ", text: a[i] })
      else {
        if (i < a.length) out.push({ op: "-", text: a[i] })
        if (i < b.length) out.push({ op: "+", text: b[i] })
      }
    }
    return out
  }
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..]
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1))
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
    }
  }
  const out: Array<DiffLine> = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ op: " ", text: a[i++] })
      j++
    } else if (j < b.length && (i === a.length || lcs[i][j + 1] > lcs[i + 1][j])) out.push({ op: "+", text: b[j++] })
    else out.push({ op: "-", text: a[i++] })
  }
  return out
}

/** Lines of unchanged records kept around each change in a printed diff. */
const CONTEXT = 2

/**
 * The diff as printed: `- ` expected, `+ ` received, `  ` both, with at most {@link CONTEXT}
 * unchanged lines around each change (`  ... n equal records` for the rest).
 */
export const renderDiff = (diff: ReadonlyArray<DiffLine>, indent: string): ReadonlyArray<string> => {
  const near = diff.map((_, k) => {
    for (let d = -CONTEXT; d <= CONTEXT; d++) if (diff[k + d] !== undefined && diff[k + d].op !== " ") return true
    return false
  })
  const out: Array<string> = []
  let skipped = 0
  for (const [k, line] of diff.entries()) {
    if (!near[k]) {
      skipped++
      continue
    }
    if (skipped > 0) out.push(`${indent}  ... ${skipped} equal ${skipped === 1 ? "record" : "records"}`)
    skipped = 0
    out.push(`${indent}${line.op} ${line.text}`)
  }
  if (skipped > 0) out.push(`${indent}  ... ${skipped} equal ${skipped === 1 ? "record" : "records"}`)
  return out
}
