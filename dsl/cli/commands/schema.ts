/**
 * `dataflare schema`: prints the JSON Schema (draft 2020-12) of a workflow file, generated from
 * the Schemas that decode it — every built-in connector's and processor's config included — for
 * editors that complete and check YAML (`# yaml-language-server: $schema=<path>`). The same
 * schema is committed as `schema/workflow.schema.json` (`npm run schema` writes it; a test keeps
 * it up to date).
 *
 * @since 0.4.0
 */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { Registry } from "../../../src/Registry.ts"
import { engine } from "../internal/engine.ts"
import { provideRegistry } from "../internal/registry.ts"

/**
 * The schema's text as `dataflare schema` prints it and `schema/workflow.schema.json` holds it.
 *
 * @category rendering
 * @since 0.4.0
 */
export const text: Effect.Effect<string, never, Registry> = Effect.gen(function*() {
  const { Yaml } = yield* engine
  const registry = yield* Registry
  // every type's config Schema: the lazily registered ones load here (a build that cannot load a
  // built-in connector is broken, not a user's mistake)
  if (registry.loadAll !== undefined) yield* Effect.orDie(registry.loadAll)
  return `${JSON.stringify(Yaml.jsonSchema(registry), null, 2)}\n`
})

/**
 * Builds the `schema` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.4.0
 */
export const command = () =>
  Command.make(
  "schema",
  {},
  () => text.pipe(Effect.flatMap((schema) => Console.log(schema.trimEnd())), provideRegistry)
).pipe(
  Command.withShortDescription("Print the JSON Schema of a workflow file (for editors)"),
  Command.withDescription(
    "Print the JSON Schema (draft 2020-12) of a workflow file: its keys, execution settings and every connector's and processor's config, with descriptions and defaults. Point an editor at it with a first line '# yaml-language-server: $schema=<path>'."
  ),
  Command.withExamples([
    { command: "dataflare schema > workflow.schema.json", description: "Save the schema for an editor" }
  ])
)
