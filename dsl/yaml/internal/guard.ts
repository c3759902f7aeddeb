/**
 * What the YAML loader refuses before it reads a workflow, because no workflow looks like it and
 * reading it could cost without bound or overflow the stack: a text over 4 Mi characters, C0
 * control characters (a binary file), and mappings and lists nested more than 64 levels (found
 * without recursion). Each refusal is an issue with a location (see docs/limits.md).
 */
import type { Pair } from "yaml"
import { isMap, isSeq } from "yaml"
import type { DefinitionIssue } from "../../../src/Errors.ts"

/** The largest workflow text (characters): a workflow is a page of YAML, not a data file. */
export const MAX_WORKFLOW_CHARS = 4 * 1024 * 1024

/** Mappings and lists nested deeper than this are refused (a workflow needs a handful of levels). */
export const MAX_NESTING = 64

/** The issue of a text that is no workflow: too large, or not text (NUL and other C0 control characters YAML does not allow). */
export const refuseText = (text: string, file: string): DefinitionIssue | undefined => {
  if (text.length > MAX_WORKFLOW_CHARS) {
    return {
      path: "",
      message: `the file holds ${text.length} characters; a workflow file holds at most ${MAX_WORKFLOW_CHARS} (is this the workflow, or a data file?)`,
      location: { file, line: 1, column: 1 }
    }
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 32 && c !== 9 && c !== 10 && c !== 13) {
      let line = 1
      let start = 0
      for (let k = text.indexOf("\n"); k !== -1 && k < i; k = text.indexOf("\n", k + 1)) {
        line++
        start = k + 1
      }
      return {
        path: "",
        message: `the file holds control character U+${c.toString(16).toUpperCase().padStart(4, "0")} here, which YAML does not allow (is it a YAML workflow, or a binary file?)`,
        location: { file, line, column: i - start + 1 }
      }
    }
  }
  return undefined
}

/** The first node nested more than {@link MAX_NESTING} levels deep (walked without recursion). */
export const tooDeep = (root: unknown): unknown => {
  const stack: Array<{ readonly node: unknown; readonly depth: number }> = [{ node: root, depth: 0 }]
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!
    if (!isMap(node) && !isSeq(node)) continue
    if (depth >= MAX_NESTING) return node
    for (const item of node.items) {
      if (isMap(node)) {
        const pair = item as Pair
        stack.push({ node: pair.value, depth: depth + 1 })
        stack.push({ node: pair.key, depth: depth + 1 })
      } else stack.push({ node: item, depth: depth + 1 })
    }
  }
  return undefined
}
