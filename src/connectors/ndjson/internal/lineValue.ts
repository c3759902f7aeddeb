/**
 * One NDJSON line read as a record: what the serial reader (`NdjsonSource.ts`) and the range
 * threads (`rangeReader.ts`) both do with a line's text, so they accept and refuse the same lines
 * with the same messages. No Effect here: the range threads load it.
 */
import { type JsonOptions, JsonRefusal, parseJson } from "../../../internal/json.ts"

/** Why a line is not a record: what, and where when known (`column`, `field`). */
export class LineProblem {
  readonly detail: string
  readonly column: number | undefined
  readonly field: string | undefined
  constructor(detail: string, column?: number, field?: string) {
    this.detail = detail
    this.column = column
    this.field = field
  }
}

/** Whether a line is blank (empty or only whitespace): such lines are skipped. */
export const isBlank = (line: string): boolean => line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim().length === 0)

/** Quoted in an error: the line, cut to a readable length. */
export const excerpt = (text: string): string => (text.length > 200 ? `${text.slice(0, 200)}…` : text)

/**
 * The record of a line that is not blank: the JSON object it holds, or why it is none (not JSON,
 * a value `parseJson` refuses, or not an object). A parsed value is never a class instance, so
 * `instanceof LineProblem` tells the two apart.
 */
export const lineValue = (text: string, json: JsonOptions): object | LineProblem => {
  const value = parseJson(text, json)
  if (value instanceof JsonRefusal) {
    const why = value.reason
    return why instanceof SyntaxError ? new LineProblem(`invalid JSON: ${why.message}`) : new LineProblem(why.detail, why.column, why.field)
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return new LineProblem(
      `expected a JSON object, got ${Array.isArray(value) ? "an array" : typeof value === "string" ? excerpt(JSON.stringify(value)) : String(value)}`
    )
  }
  return value
}
