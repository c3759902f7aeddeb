/** Helpers for the expression tests: compile (asserting success) and evaluate, or get the compile error. */
import { assert } from "@effect/vitest"
import * as Expression from "../../src/expr/Expression.ts"

/** Compiles `text` (which must compile) and evaluates it on `record`. */
export const ev = (text: string, record: unknown = {}): unknown => {
  const compiled = Expression.compile(text)
  if (!compiled.ok) assert.fail(`'${text}' should compile: ${Expression.formatError(compiled)}`)
  return compiled.evaluate(record)
}

/** The compile error of `text` (which must not compile). */
export const compileError = (text: string): Expression.CompileError => {
  const compiled = Expression.compile(text)
  if (compiled.ok) return assert.fail(`'${text}' should not compile`)
  return compiled
}

/** The message of what evaluating `text` on `record` throws (it must throw). */
export const thrown = (text: string, record: unknown): unknown => {
  const compiled = Expression.compile(text)
  if (!compiled.ok) return assert.fail(`'${text}' should compile: ${Expression.formatError(compiled)}`)
  try {
    compiled.evaluate(record)
  } catch (e) {
    return e
  }
  return assert.fail(`'${text}' should throw on ${JSON.stringify(record)}`)
}
