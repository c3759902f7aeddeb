/**
 * Reading JSON text from an input file (an `ndjson` line, a `csv` column of type `json`) without
 * changing values silently or accepting what later steps cannot carry.
 *
 * `JSON.parse` reads `12345678901234567890` as `12345678901234567000` and `1e999` as `Infinity`
 * (which a JSON writer then prints as `null`), and it reads a value nested 200,000 deep that every
 * later step (`JSON.stringify`, `structuredClone`, a sink) fails on with a stack overflow. Here:
 * - an integer written beyond ±(2^53 − 1) is an error naming its field and column, unless
 *   `big_integers` is `bigint` (read as a `bigint`) or `string` (read as its digits);
 * - a number beyond the range of a double is an error, and so is one so small it would read as 0;
 * - a value nested deeper than `max_depth` is an error;
 * - an object that names a key twice (`{"a":1,"a":2}`, which `JSON.parse` reads as `{"a":2}`,
 *   losing the first value) is an error naming the key.
 *
 * Cost: one walk over the parsed value (about a tenth of `JSON.parse` for a typical record); the
 * text is read again, token by token, only when the walk finds a number that may have been changed
 * (an integer beyond 2^53 or an infinity), a value too deep, or fewer keys than the text's `":`
 * (see `keyRepeated`).
 *
 * @since 0.1.0
 */

/**
 * How integers beyond ±(2^53 − 1) are read: `error` (the default), `bigint`, or `string` (their
 * digits, as written).
 *
 * @category models
 * @since 0.1.0
 */
export type BigIntegers = "error" | "bigint" | "string"

/** The default of `max_depth`: objects and arrays nested this deep are read, deeper ones refused. */
export const MAX_DEPTH = 1000

/** How JSON text is read. */
export interface JsonOptions {
  readonly maxDepth: number
  readonly bigIntegers: BigIntegers
}

/** Why a JSON text was refused: what, the 1-based column in the text, and the field (a path such as `a.b[2]`). */
export interface JsonProblem {
  readonly _tag: "JsonProblem"
  readonly detail: string
  readonly column: number
  readonly field: string | undefined
}

const OK = 0
const TOO_DEEP = 1
/** A number beyond ±(2^53 − 1) or infinite: it may have been changed. */
const SUSPECT = 2
/** A zero: it may be a number too small for a double (`1e-400`). */
const ZERO = 4
/** A `-0` (which `JSON.stringify` writes as `0`). */
const NEGATIVE_ZERO = 8

/** The flags of the last value {@link parseJson} returned (the parse is synchronous). */
let lastFound = 0

/**
 * Whether the last value {@link parseJson} returned holds a `-0` (a writer that uses
 * `JSON.stringify` would write it as `0`).
 *
 * @category parsing
 * @since 0.4.0
 */
export const lastHadNegativeZero = (): boolean => (lastFound & NEGATIVE_ZERO) !== 0

/**
 * The keys {@link check} walked: with the keys of the text, they tell whether an object of the
 * text named a key twice (see {@link keyRepeated}). The walk is synchronous, so one counter
 * serves every call.
 */
let walkedKeys = 0

/** Walks a parsed value: {@link TOO_DEEP}, or the flags {@link SUSPECT} and {@link ZERO} of its numbers. */
const check = (value: unknown, depth: number, maxDepth: number): number => {
  if (typeof value === "number") {
    return value > Number.MAX_SAFE_INTEGER || value < -Number.MAX_SAFE_INTEGER ? SUSPECT : value === 0 ? (1 / value < 0 ? ZERO | NEGATIVE_ZERO : ZERO) : OK
  }
  if (typeof value !== "object" || value === null) return OK
  if (depth >= maxDepth) return TOO_DEEP
  let found = OK
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const r = check(value[i], depth + 1, maxDepth)
      if (r === TOO_DEEP) return r
      found |= r
    }
    return found
  }
  const record = value as { readonly [key: string]: unknown }
  let keys = 0
  for (const key in record) {
    keys++
    const r = check(record[key], depth + 1, maxDepth)
    if (r === TOO_DEEP) return r
    found |= r
  }
  walkedKeys += keys
  return found
}

interface Frame {
  readonly array: boolean
  key: string | number
  expectKey: boolean
  /** The keys of an object met so far (only when a walk looks for repeated keys). */
  keys?: Set<string>
}

/** How many steps of a path a message names before it ends with `...` (a value 1,000 deep made a 4,000-character field name). */
const PATH_STEPS = 12

const pathOf = (frames: ReadonlyArray<Frame>): string | undefined => {
  let path = ""
  let steps = 0
  for (const f of frames) {
    if (f.array) path += `[${f.key}]`
    else if (f.key !== "") path += path.length === 0 ? String(f.key) : `.${String(f.key)}`
    else continue
    if (++steps === PATH_STEPS && frames.length > PATH_STEPS + 1) return `${path}... (${frames.length} levels)`
  }
  return path.length > 0 ? path : undefined
}

const isNumberChar = (c: number): boolean => (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69

/**
 * Walks JSON `text` token by token (it need not be complete: a prefix is walked to its end),
 * calling `onNumber` with each number token and the path to it; stops at the first problem
 * `onNumber` reports, or at nesting deeper than `maxDepth`. Returns the problem, or the path at the
 * end of the text.
 */
export const walkText = (
  text: string,
  maxDepth: number,
  onNumber: (token: string) => string | undefined,
  repeatedKeys = false
): JsonProblem | { readonly _tag: "End"; readonly field: string | undefined } => {
  const frames: Array<Frame> = []
  const n = text.length
  let i = 0
  while (i < n) {
    const c = text.charCodeAt(i)
    const top = frames.length > 0 ? frames[frames.length - 1] : undefined
    if (c === 34) {
      let j = i + 1
      while (j < n) {
        const d = text.charCodeAt(j)
        if (d === 92) j += 2
        else if (d === 34) break
        else j++
      }
      if (top !== undefined && !top.array && top.expectKey) {
        let key: unknown
        try {
          key = JSON.parse(text.slice(i, Math.min(j, n) + 1))
        } catch {
          key = text.slice(i + 1, j)
        }
        top.key = String(key)
        top.expectKey = false
        if (repeatedKeys) {
          const keys = top.keys ??= new Set()
          if (keys.has(top.key)) {
            return {
              _tag: "JsonProblem",
              detail: `the key '${top.key}' appears twice in one object; a JSON reader keeps only its last value, so the first would be lost`,
              column: i + 1,
              field: pathOf(frames)
            }
          }
          keys.add(top.key)
        }
      }
      i = j + 1
    } else if (c === 123 || c === 91) {
      if (frames.length >= maxDepth) {
        return {
          _tag: "JsonProblem",
          detail: `the value is nested deeper than max_depth (${maxDepth} levels of objects and arrays)`,
          column: i + 1,
          field: pathOf(frames)
        }
      }
      frames.push({ array: c === 91, key: c === 91 ? 0 : "", expectKey: c === 123 })
      i++
    } else if (c === 125 || c === 93) {
      frames.pop()
      i++
    } else if (c === 44) {
      if (top !== undefined) {
        if (top.array) top.key = (top.key as number) + 1
        else top.expectKey = true
      }
      i++
    } else if ((c >= 48 && c <= 57) || c === 45) {
      // a number starts with a digit or '-' (the 'e' of true and false is no number)
      let j = i + 1
      while (j < n && isNumberChar(text.charCodeAt(j))) j++
      const problem = onNumber(text.slice(i, j))
      if (problem !== undefined) return { _tag: "JsonProblem", detail: problem, column: i + 1, field: pathOf(frames) }
      i = j
    } else i++
  }
  return { _tag: "End", field: pathOf(frames) }
}

const isIntegerToken = (token: string): boolean => {
  for (let k = 0; k < token.length; k++) {
    const c = token.charCodeAt(k)
    if (c === 46 || c === 101 || c === 69) return false
  }
  return true
}

/** Whether a number token is an integer that a double does not hold exactly (beyond ±(2^53 − 1)). */
const isBigInteger = (token: string): boolean => isIntegerToken(token) && !Number.isSafeInteger(Number(token))

/** Whether a number token has a digit other than 0 before its exponent (so it is not zero). */
const nonZero = (token: string): boolean => {
  for (let k = 0; k < token.length; k++) {
    const c = token.charCodeAt(k)
    if (c === 101 || c === 69) return false
    if (c >= 49 && c <= 57) return true
  }
  return false
}

const numberProblem = (bigIntegers: BigIntegers) => (token: string): string | undefined => {
  const value = Number(token)
  if (!Number.isFinite(value)) return `the number ${token} is beyond the range of a double (about ±1.8e308)`
  if (value === 0 && nonZero(token)) return `the number ${token} is too small for a double (it would read as 0)`
  if (bigIntegers === "error" && isBigInteger(token)) {
    return `the integer ${token} is beyond ±(2^53 − 1) and would be read as ${value}; set big_integers: bigint or string to read it exactly`
  }
  return undefined
}

/** A reviver that reads big integers as `bigint`s or strings (with the source text of each value). */
const reviver = (bigIntegers: BigIntegers) =>
(_key: string, value: unknown, context?: { readonly source?: string }): unknown => {
  if (typeof value !== "number" || context?.source === undefined || !isBigInteger(context.source)) return value
  return bigIntegers === "bigint" ? BigInt(context.source) : context.source
}

/**
 * Why {@link parseJson} refused a text: the problem (see the module comment), or the
 * `SyntaxError` of text that is not JSON. (A parsed JSON value is never an instance of a class,
 * so `instanceof JsonRefusal` tells the two results apart without wrapping every value.)
 *
 * @category parsing
 * @since 0.1.0
 */
export class JsonRefusal {
  readonly reason: JsonProblem | SyntaxError
  constructor(reason: JsonProblem | SyntaxError) {
    this.reason = reason
  }
}

/** Whether `text` has a negative exponent (`e-`, `E-`): only then can a zero be a number too small. */
const negativeExponent = (text: string): boolean => {
  for (let i = text.indexOf("-"); i > 0; i = text.indexOf("-", i + 1)) {
    const c = text.charCodeAt(i - 1)
    if (c === 101 || c === 69) return true
  }
  return false
}

/**
 * Whether an object of `text` may name a key twice (`{"a":1,"a":2}`, which `JSON.parse` reads as
 * `{"a":2}`), after {@link check} walked its value and counted the keys that survived. Each key
 * of the text is followed by a `:`; when no `:` of the text follows whitespace, each of those
 * follows the key's closing quote, so the text has at least as many keys as `":` — and when it
 * has no more `":` than the walk found keys, no key was dropped. Otherwise (whitespace before a
 * colon, a string holding `":`), the text is walked token by token to find a repeated key. Cost:
 * one `indexOf` per `:` of the text.
 */
const keyRepeated = (text: string): boolean => {
  let quoted = 0
  for (let i = text.indexOf(":"); i !== -1; i = text.indexOf(":", i + 1)) {
    const c = text.charCodeAt(i - 1)
    if (c === 34) quoted++
    else if (c === 32 || c === 9 || c === 10 || c === 13) return true
  }
  return quoted !== walkedKeys
}

/**
 * Parses JSON text read from a file: the value, or a {@link JsonRefusal}.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseJson = (text: string, options: JsonOptions): unknown => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return new JsonRefusal(e instanceof SyntaxError ? e : new SyntaxError(String(e)))
  }
  let found: number
  walkedKeys = 0
  try {
    found = check(value, 0, options.maxDepth)
  } catch (e) {
    // a stack already deep where this runs: too deep to carry further either
    if (!(e instanceof RangeError)) throw e
    return new JsonRefusal({ _tag: "JsonProblem", detail: "the value is nested too deeply to read here", column: 1, field: undefined })
  }
  lastFound = found
  const repeated = keyRepeated(text)
  if (!repeated && (found === OK || ((found & ~NEGATIVE_ZERO) === ZERO && !negativeExponent(text)))) return value
  const walked = walkText(text, options.maxDepth, numberProblem(options.bigIntegers), repeated)
  if (walked._tag === "JsonProblem") return new JsonRefusal(walked)
  if ((found & SUSPECT) !== 0 && options.bigIntegers !== "error") return JSON.parse(text, reviver(options.bigIntegers))
  return value
}
