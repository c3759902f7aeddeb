/**
 * The YAML workflow loader: reads a workflow file in the format of `docs/yaml.md` and produces
 * the same {@link WorkflowGraph} value the typed DSL produces, with a source map so every later
 * error (unknown connector type, config decode error, unknown input, bad expression) names the
 * file, line, column and key at fault.
 *
 * `${VAR}` and `${VAR:-default}` in string values are replaced from the environment before the
 * workflow is decoded (`$${` writes a literal `${`). Every problem found is reported at once, in
 * one {@link DefinitionError}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Builtins, Runtime } from "dataflare"
 * import { Yaml } from "dataflare/dsl"
 *
 * const program = Effect.gen(function*() {
 *   const graph = yield* Yaml.load("workflow.yaml")
 *   return yield* Runtime.run(graph)
 * }).pipe(Effect.provide(Builtins.layer))
 * ```
 * @since 0.1.0
 */
import { type Buffer, isUtf8 } from "node:buffer"
import { readFile, stat } from "node:fs/promises"
import { Effect, type JsonSchema } from "effect"
import { DefinitionError } from "../../src/Errors.ts"
import type { Registry } from "../../src/Registry.ts"
import type { WorkflowGraph } from "../../src/WorkflowGraph.ts"
import type { Env } from "./internal/env.ts"
import { workflowJsonSchema } from "./internal/jsonSchema.ts"
import { load as loadText } from "./internal/loader.ts"

export type {
  /**
   * The source map a loaded graph carries (`graph.sourceMap`): `locate` and `describe` of
   * {@link WorkflowGraph}'s `SourceMap`, plus `locateValue(node, path, column?)`, the place of a
   * value, or of the `column`-th character inside a one-line string value (an expression error).
   *
   * @category models
   * @since 0.1.0
   */
  YamlSourceMap
} from "./internal/sourceMap.ts"

/**
 * Environment variables used for `${VAR}` substitution: name → value (`undefined` for unset).
 *
 * @category models
 * @since 0.1.0
 */
export type Environment = Env

/**
 * Options of {@link parse}: the name of the file in locations, and the environment (default
 * `process.env`).
 *
 * @category models
 * @since 0.1.0
 */
export interface ParseOptions {
  readonly file: string
  readonly env?: Environment | undefined
}

/**
 * Options of {@link load}: the environment (default `process.env`).
 *
 * @category models
 * @since 0.1.0
 */
export interface LoadOptions {
  readonly env?: Environment | undefined
}

/**
 * Parses a workflow from YAML text. Fails with one {@link DefinitionError} listing every problem
 * (YAML syntax, unset variables, unknown or missing keys, bad `execution` values, duplicate ids),
 * each at its `file:line:column` and dotted key path. It does not consult the registry: node
 * types, configs and inputs are checked by `Runtime.prepare`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parse = (text: string, options: ParseOptions): Effect.Effect<WorkflowGraph, DefinitionError> =>
  Effect.suspend(() => {
    const loaded = loadText(text, options.file, options.env ?? process.env)
    return loaded.ok ? Effect.succeed(loaded.graph) : Effect.fail(new DefinitionError({ issues: loaded.issues }))
  })

/**
 * Reads and parses a workflow file. The path is kept as given in error locations. A file that
 * cannot be read fails with a {@link DefinitionError} naming it.
 *
 * **Gotchas**: relative paths inside the workflow (a CSV `path`, ...) are passed to the
 * connectors unchanged, so they resolve against the current working directory, not the folder
 * of the YAML file.
 *
 * @category constructors
 * @since 0.1.0
 */
export const load = (path: string, options?: LoadOptions): Effect.Effect<WorkflowGraph, DefinitionError> =>
  Effect.tryPromise({
    try: async () => {
      const size = (await stat(path)).size
      return size > MAX_WORKFLOW_BYTES ? size : await readFile(path)
    },
    catch: (cause) =>
      new DefinitionError({
        issues: [{ path: "", message: `cannot read workflow file: ${readErrorText(cause)}`, location: { file: path } }]
      })
  }).pipe(Effect.flatMap((bytes) => {
    if (typeof bytes === "number") {
      return fail(path, { line: 1, column: 1 }, `the file has ${bytes} bytes; a workflow file has at most ${MAX_WORKFLOW_BYTES} (is this the workflow, or a data file?)`)
    }
    if (!isUtf8(bytes)) return fail(path, firstNotText(bytes), "the file is not UTF-8 text here (is it a YAML workflow, or a binary file?)")
    return parse(bytes.toString("utf8"), { file: path, env: options?.env })
  }))

/** The largest workflow file read (bytes). */
const MAX_WORKFLOW_BYTES = 4 * 1024 * 1024

const fail = (file: string, at: { readonly line: number; readonly column: number }, message: string) =>
  Effect.fail(new DefinitionError({ issues: [{ path: "", message, location: { file, ...at } }] }))

/** The line (exact) and column (in characters) of the first bytes of `bytes` that are not UTF-8. */
const firstNotText = (bytes: Buffer): { readonly line: number; readonly column: number } => {
  let line = 1
  let start = 0
  for (;;) {
    const end = bytes.indexOf(10, start)
    const slice = bytes.subarray(start, end === -1 ? bytes.length : end)
    if (!isUtf8(slice)) return { line, column: slice.toString("utf8").indexOf("\uFFFD") + 1 }
    if (end === -1) return { line, column: 1 }
    line++
    start = end + 1
  }
}

const readErrorText = (cause: unknown): string => {
  if (cause !== null && typeof cause === "object" && "code" in cause) {
    switch (cause.code) {
      case "ENOENT":
        return "no such file"
      case "EACCES":
        return "permission denied"
      case "EISDIR":
        return "is a directory"
    }
  }
  return cause instanceof Error ? cause.message : String(cause)
}

/**
 * The JSON Schema (draft 2020-12) of a workflow file whose node types are those of `registry`:
 * the file's keys, `execution`, and every registered type's `config` (chosen by the node's
 * `type`), generated from the Schemas that decode them, with their descriptions and defaults.
 * Editors use it to complete and check YAML (`# yaml-language-server: $schema=<path>`);
 * `dataflare schema` prints it for the built-in registry.
 *
 * **Gotchas**: JSON Schema cannot say everything `Runtime.prepare` checks (node ids unique across
 * sections, inputs naming existing nodes, cycles, custom config checks, expressions): a file the
 * schema accepts may still be refused by `dataflare validate`, never the other way round. Keys
 * only the DSL can give (functions, Streams) and types configured only by them are left out.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Builtins, Registry } from "dataflare"
 * import { Yaml } from "dataflare/dsl"
 *
 * const schema = Effect.gen(function*() {
 *   return Yaml.jsonSchema(yield* Registry.Registry)
 * }).pipe(Effect.provide(Builtins.layer))
 * ```
 * @category schemas
 * @since 0.4.0
 */
export const jsonSchema = (registry: Registry["Service"]): JsonSchema.JsonSchema => workflowJsonSchema(registry.entries)
