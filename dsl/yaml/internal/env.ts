/**
 * `${VAR}` and `${VAR:-default}` substitution in the scalar string values of a parsed YAML
 * document (never in keys), before the workflow is decoded.
 *
 * - `${VAR}`: the variable's value; an unset variable is an error naming it and its place.
 * - `${VAR:-default}`: the default when the variable is unset or empty (as in a POSIX shell).
 * - `$${`: a literal `${` (nothing is substituted).
 * - A plain (unquoted) scalar is typed again after substitution the way YAML types plain text,
 *   so `batch_size: ${BATCH:-500}` is the number 500; a quoted scalar stays a string.
 */
import type { Scalar } from "yaml"
import { isMap, isPair, isScalar, isSeq } from "yaml"
import type { DefinitionIssue } from "../../../src/Errors.ts"
import { formatPath, keyText, locationAt, locationOf, type Source } from "./document.ts"

/** Environment variables: name → value (`undefined` for unset). */
export type Env = { readonly [name: string]: string | undefined }

const OPEN = "$" + "{"

const NAME = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/

type Substituted =
  | { readonly ok: true; readonly value: string; readonly changed: boolean }
  | { readonly ok: false; readonly problems: ReadonlyArray<{ readonly reference: string; readonly message: string }> }

/** Substitutes every reference in one string. */
export const substitute = (text: string, env: Env): Substituted => {
  if (!text.includes("$")) return { ok: true, value: text, changed: false }
  const problems: Array<{ reference: string; message: string }> = []
  let out = ""
  let i = 0
  let changed = false
  while (i < text.length) {
    const dollar = text.indexOf("$", i)
    if (dollar < 0) {
      out += text.slice(i)
      break
    }
    out += text.slice(i, dollar)
    if (text.startsWith("$${", dollar)) {
      out += "${"
      i = dollar + 3
      changed = true
      continue
    }
    if (!text.startsWith("${", dollar)) {
      out += "$"
      i = dollar + 1
      continue
    }
    const close = text.indexOf("}", dollar + 2)
    if (close < 0) {
      problems.push({
        reference: text.slice(dollar),
        message: `unterminated '${OPEN}': write ${OPEN}NAME}, ${OPEN}NAME:-default}, or $${OPEN} for a literal '${OPEN}'`
      })
      break
    }
    const inner = text.slice(dollar + 2, close)
    const reference = text.slice(dollar, close + 1)
    const m = NAME.exec(inner)
    i = close + 1
    changed = true
    if (m === null) {
      problems.push({
        reference,
        message: `invalid variable reference '${reference}': write \${NAME} or \${NAME:-default} (NAME: letters, digits, _)`
      })
      continue
    }
    const value = env[m[1]]
    const fallback = m[2]
    if (fallback !== undefined && (value === undefined || value === "")) out += fallback
    else if (value !== undefined) out += value
    else problems.push({ reference, message: `environment variable ${m[1]} is not set (write \${${m[1]}:-default} for a default)` })
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: out, changed }
}

/** How YAML 1.2's core schema types plain text: null, booleans, integers and floats. */
export const resolvePlain = (text: string): unknown => {
  if (/^(?:~|null|Null|NULL)$/.test(text)) return null
  if (/^(?:true|True|TRUE)$/.test(text)) return true
  if (/^(?:false|False|FALSE)$/.test(text)) return false
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text)
  if (/^0o[0-7]+$/.test(text)) return Number.parseInt(text.slice(2), 8)
  if (/^0x[0-9a-fA-F]+$/.test(text)) return Number.parseInt(text.slice(2), 16)
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(text)) return Number(text)
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(text)) return text.startsWith("-") ? -Infinity : Infinity
  if (/^\.(?:nan|NaN|NAN)$/.test(text)) return Number.NaN
  return text
}

/**
 * Substitutes variables in every scalar value of the document, in place. Returns the issues
 * (each at the reference's line and column) and the dotted paths of the values that failed, so
 * later checks do not report the same value twice.
 */
export const substituteDocument = (
  source: Source,
  env: Env
): { readonly issues: ReadonlyArray<DefinitionIssue>; readonly failed: ReadonlySet<string> } => {
  const issues: Array<DefinitionIssue> = []
  const failed = new Set<string>()
  const visitScalar = (scalar: Scalar, path: ReadonlyArray<PropertyKey>): void => {
    if (typeof scalar.value !== "string") return
    const result = substitute(scalar.value, env)
    if (result.ok) {
      if (result.changed) scalar.value = scalar.type === "PLAIN" ? resolvePlain(result.value) : result.value
      return
    }
    const dotted = formatPath(path)
    failed.add(dotted)
    const range = scalar.range
    for (const problem of result.problems) {
      // The reference's own place when it can be found verbatim in the source text of the value.
      const at = range === undefined || range === null ? -1 : source.text.indexOf(problem.reference, range[0])
      const location = range !== undefined && range !== null && at >= 0 && at < range[1]
        ? locationAt(source, at)
        : locationOf(source, scalar)
      issues.push({ path: dotted, message: problem.message, ...(location !== undefined ? { location } : {}) })
    }
  }
  const visit = (node: unknown, path: ReadonlyArray<PropertyKey>): void => {
    if (isScalar(node)) visitScalar(node, path)
    else if (isMap(node)) {
      for (const pair of node.items) {
        if (isPair(pair)) visit(pair.value, [...path, keyText(pair) ?? "?"])
      }
    } else if (isSeq(node)) {
      for (let i = 0; i < node.items.length; i++) visit(node.items[i], [...path, i])
    }
  }
  visit(source.doc.contents, [])
  return { issues, failed }
}
