// biome-ignore-all lint/suspicious/noTemplateCurlyInString: mutations insert ${VAR} references
/**
 * Fuzzing the YAML loader (issue 21): random mutations of the examples' workflows (deleted and
 * duplicated lines, inserted YAML syntax — anchors, aliases, merge keys, tags, block scalars,
 * `${VAR}` references, tabs, control characters) and random documents. Loading, and preparing
 * against the built-in registry, must either succeed or fail with a `DefinitionError` whose every
 * issue names the file and a line — never throw, never a defect, never a stack trace.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import fc from "fast-check"
import { stringify } from "yaml"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import { DefinitionError } from "../../src/Errors.ts"
import * as Runtime from "../../src/Runtime.ts"
import { numRuns, timeoutFor } from "../support/effectProperty.ts"

const EXAMPLES = join(import.meta.dirname, "../../examples")
const examples = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .map((f) => readFileSync(join(EXAMPLES, f), "utf8"))

const SNIPPETS = [
  ":", ": ", "- ", "-", "&a ", "*a", "*b ", "<<: *a\n", "!!binary ", "!!str ", "!custom ", "? ", "|\n", ">-\n", "[", "]", "{", "}", ",",
  "'", '"', "#", "\n", "\n  ", "  ", "\t", "---\n", "...\n", "${X}", "${UNSET}", "${X:-d}", "$${", "${", "~", "null", "0x1F", "1e999",
  "-.inf", ".nan", "2024-02-30", "yes", "\u0000", "\u001b[31m", "\uFEFF", "é", "🙂", "type: csv", "inputs: [", "parallelism: -1", "config: *a",
  "a: &a [1, 2]\n", "x: &b {p: *b}\n"
]

type Mutation =
  | { readonly kind: "insert"; readonly at: number; readonly text: string }
  | { readonly kind: "delete"; readonly at: number; readonly length: number }
  | { readonly kind: "duplicateLine"; readonly line: number }
  | { readonly kind: "dropLine"; readonly line: number }

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.constantFrom(...SNIPPETS) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.string({ maxLength: 6 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant("duplicateLine" as const), line: fc.nat() }),
  fc.record({ kind: fc.constant("dropLine" as const), line: fc.nat() })
)

const mutate = (text: string, mutations: ReadonlyArray<Mutation>): string => {
  let out = text
  for (const m of mutations) {
    if (m.kind === "insert") {
      const at = m.at % (out.length + 1)
      out = out.slice(0, at) + m.text + out.slice(at)
    } else if (m.kind === "delete") {
      const at = m.at % (out.length + 1)
      out = out.slice(0, at) + out.slice(at + m.length)
    } else {
      const lines = out.split("\n")
      const i = m.line % Math.max(1, lines.length)
      if (m.kind === "duplicateLine") lines.splice(i, 0, lines[i] ?? "")
      else lines.splice(i, 1)
      out = lines.join("\n")
    }
  }
  return out
}

/** Loads and prepares `text`; returns what went wrong when the outcome is not allowed. */
const check = (text: string) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(
      Yaml.parse(text, { file: "fuzz.yaml", env: { X: "1" } }).pipe(
        Effect.flatMap((graph) => Runtime.prepare(graph)),
        Effect.provide(Builtins.layer)
      )
    )
    if (Exit.isSuccess(exit)) return undefined
    const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
    if (failure === undefined || failure._tag !== "Fail") return `not a typed failure: ${Cause.pretty(exit.cause)}`
    const error = failure.error
    if (!(error instanceof DefinitionError)) return `not a DefinitionError: ${String(error)}`
    for (const issue of error.issues) {
      if (issue.location?.file !== "fuzz.yaml" || (issue.location.line ?? 0) < 1) return `an issue without a location: ${JSON.stringify(issue)}`
    }
    return undefined
  })

describe("YAML fuzz", () => {
  it.effect("mutated examples load and prepare, or fail with located definition errors only", () =>
    Effect.gen(function*() {
      const cases = fc.sample(
        fc.tuple(fc.integer({ min: 0, max: examples.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 })),
        { numRuns: numRuns(400), seed: Number(process.env.DATAFLARE_FUZZ_SEED ?? 21) }
      )
      for (const [i, mutations] of cases) {
        const text = mutate(examples[i], mutations)
        const problem = yield* check(text)
        assert.isUndefined(problem, `${problem}\n--- text ---\n${text}`)
      }
    }), { timeout: timeoutFor(numRuns(400), 500, 600_000) })

  it.effect("random documents load, or fail with located definition errors only", () =>
    Effect.gen(function*() {
      const docs = fc.sample(
        fc.oneof(
          fc.anything({ maxDepth: 3 }),
          fc.record({
            name: fc.string(),
            sources: fc.dictionary(fc.string({ maxLength: 4 }), fc.anything({ maxDepth: 2 }), { maxKeys: 2 }),
            destinations: fc.anything({ maxDepth: 2 })
          })
        ),
        { numRuns: numRuns(400), seed: Number(process.env.DATAFLARE_FUZZ_SEED ?? 21) }
      )
      for (const doc of docs) {
        let text: unknown
        try {
          text = stringify(doc)
        } catch {
          continue // a value YAML cannot write (a symbol, a function): nothing to load
        }
        if (typeof text !== "string") continue
        const problem = yield* check(text)
        assert.isUndefined(problem, `${problem}\n--- text ---\n${text}`)
      }
    }), { timeout: timeoutFor(numRuns(400), 500, 600_000) })
})
