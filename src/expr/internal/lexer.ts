/**
 * The expression lexer: text to tokens, each with its 1-based column. Lexical errors carry the
 * column of the offending character.
 */

/** A token. `text` is the source text of operators and names; `value` the decoded literal. */
export type Token =
  | { readonly kind: "number"; readonly value: number; readonly text: string; readonly column: number }
  | { readonly kind: "string"; readonly value: string; readonly text: string; readonly column: number }
  | { readonly kind: "ident"; readonly text: string; readonly column: number }
  | { readonly kind: "quoted"; readonly value: string; readonly text: string; readonly column: number }
  | { readonly kind: "op"; readonly text: string; readonly column: number }
  | { readonly kind: "eof"; readonly text: string; readonly column: number }

/** A lexical or syntax error at a 1-based column. */
export interface SyntaxProblem {
  readonly message: string
  readonly column: number
}

const OPERATORS = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!", "(", ")", "[", "]", ",", ".", "$"]

/** Operators that other languages have and this one does not, with the spelling to use instead. */
const FOREIGN: ReadonlyArray<readonly [string, string | undefined]> = [
  ["===", "=="],
  ["!==", "!="],
  ["<>", "!="],
  ["**", undefined],
  ["=>", ">="],
  ["=<", "<="],
  ["&", "&&"],
  ["|", "||"],
  ["=", "=="]
]

const ESCAPES: { readonly [c: string]: string } = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', "`": "`", "0": "\0" }

const isDigit = (c: string): boolean => c >= "0" && c <= "9"
const isIdentStart = (c: string): boolean => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_"
const isIdentPart = (c: string): boolean => isIdentStart(c) || isDigit(c)

/**
 * Why a number literal would not mean what it says, as the file sources refuse such values: an
 * integer beyond ±(2^53 − 1) (`id == 9007199254740993` would compare with 9007199254740992 and
 * never match a record's exact bigint), a number beyond a double (`Infinity`), or one so small it
 * would be 0. A decimal fraction (`0.1`) is the nearest double, as everywhere.
 */
const changedNumber = (raw: string, value: number): string | undefined => {
  if (!Number.isFinite(value)) return `the number ${raw} is beyond the range of a double (about ±1.8e308)`
  if (value === 0 && /^[0-9]*\.?[0-9]*[1-9]/.test(raw.replace(/[eE].*$/, ""))) {
    return `the number ${raw} is too small for a double (it would read as 0)`
  }
  if (/^[0-9]+$/.test(raw) && !Number.isSafeInteger(value)) {
    return `the integer ${raw} is beyond 2^53 − 1 and would be read as ${value}; numbers are 64-bit floats (compare a big integer field as text: to_string(field) == '${raw}')`
  }
  return undefined
}

/** Splits `text` into tokens (ending with an `eof` token), or returns the first problem. */
export const tokenize = (text: string): { readonly tokens: ReadonlyArray<Token> } | SyntaxProblem => {
  const tokens: Array<Token> = []
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text[i]
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++
      continue
    }
    const column = i + 1
    if (isDigit(c)) {
      let j = i
      while (j < n && isDigit(text[j])) j++
      if (text[j] === "." && isDigit(text[j + 1] ?? "")) {
        j++
        while (j < n && isDigit(text[j])) j++
      }
      if ((text[j] === "e" || text[j] === "E") && /^[eE][+-]?\d/.test(text.slice(j, j + 3))) {
        j += text[j + 1] === "+" || text[j + 1] === "-" ? 2 : 1
        while (j < n && isDigit(text[j])) j++
      }
      if (j < n && isIdentStart(text[j])) {
        return { message: `invalid number '${text.slice(i, j + 1)}'`, column }
      }
      const raw = text.slice(i, j)
      const value = Number(raw)
      const changed = changedNumber(raw, value)
      if (changed !== undefined) return { message: changed, column }
      tokens.push({ kind: "number", value, text: raw, column })
      i = j
      continue
    }
    if (isIdentStart(c)) {
      let j = i + 1
      while (j < n && isIdentPart(text[j])) j++
      tokens.push({ kind: "ident", text: text.slice(i, j), column })
      i = j
      continue
    }
    if (c === "'" || c === '"' || c === "`") {
      let j = i + 1
      let value = ""
      let closed = false
      while (j < n) {
        const d = text[j]
        if (d === c) {
          closed = true
          j++
          break
        }
        if (d === "\\") {
          const e = text[j + 1]
          if (e === undefined) break
          if (e === "u") {
            const hex = text.slice(j + 2, j + 6)
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) return { message: "invalid escape '\\u': expected 4 hex digits", column: j + 1 }
            value += String.fromCharCode(Number.parseInt(hex, 16))
            j += 6
            continue
          }
          const mapped = ESCAPES[e]
          if (mapped === undefined) return { message: `unknown escape '\\${e}' in string`, column: j + 1 }
          value += mapped
          j += 2
          continue
        }
        value += d
        j++
      }
      if (!closed) {
        return { message: c === "`" ? "unterminated quoted name" : "unterminated string", column }
      }
      const raw = text.slice(i, j)
      tokens.push(c === "`" ? { kind: "quoted", value, text: raw, column } : { kind: "string", value, text: raw, column })
      i = j
      continue
    }
    const foreign = FOREIGN.find(([op]) => text.startsWith(op, i))
    const known = OPERATORS.find((op) => text.startsWith(op, i))
    if (foreign !== undefined && (known === undefined || foreign[0].length > known.length)) {
      const [op, instead] = foreign
      return {
        message: `unknown operator '${op}'${instead !== undefined ? ` (did you mean '${instead}'?)` : ""}`,
        column
      }
    }
    if (known !== undefined) {
      tokens.push({ kind: "op", text: known, column })
      i += known.length
      continue
    }
    return { message: `unexpected character '${c}'`, column }
  }
  tokens.push({ kind: "eof", text: "end of expression", column: n + 1 })
  return { tokens }
}
