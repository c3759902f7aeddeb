/** The graph validation tests' probe: what `Runtime.prepare` reports for a workflow text. */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import { DefinitionError, formatIssue } from "../../src/Errors.ts"
import * as Runtime from "../../src/Runtime.ts"

/**
 * The issues `Runtime.prepare` (after the loader) reports for a workflow text, read as the file
 * `graph.yaml`, formatted (`graph.yaml:line:column path: message`). Asserts it fails with a
 * {@link DefinitionError}.
 */
export const problems = (text: string) =>
  Yaml.parse(text, { file: "graph.yaml", env: {} }).pipe(
    Effect.flatMap(Runtime.prepare),
    Effect.flip,
    Effect.map((error) => {
      assert.instanceOf(error, DefinitionError)
      return error.issues.map(formatIssue)
    }),
    Effect.provide(Builtins.layer)
  )

/**
 * A workflow text whose first three lines are its `name`, `sources:` and the empty memory source
 * `orders`; `rest` follows from line 4 (more sources, indented under `sources:`, then the other
 * sections). Line numbers in the expected issues count those three lines.
 */
export const ordersWorkflow = (name: string, rest: string): string =>
  `name: ${name}\nsources:\n  orders: { type: memory, config: { records: [] } }\n${rest}`
