/**
 * `dataflare list [kind | type] [--format text|json]`: every registered connector and processor
 * type with a one-line description and its config keys — type, required or default, and what the
 * key does — read from the config Schemas that decode them (the same generated schema
 * `dataflare schema` prints), so every registered type appears, third-party ones included.
 *
 * @since 0.5.0
 */
import { Console, Effect, Option } from "effect"
import { Argument, Command } from "effect/cli"
import { Registry } from "../../../src/Registry.ts"
import { engine } from "../internal/engine.ts"
import { ExitCode, reportError } from "../internal/exit.ts"
import { provideRegistry } from "../internal/registry.ts"
import { escapeLines } from "../internal/text.ts"
import { knownNames, render, select, typeInfos } from "../internal/typeList.ts"
import { formatFlag } from "../internal/flags.ts"

const filter = Argument.String("filter").pipe(
  Argument.withDescription("A kind (sources, processors, sinks) or a type name (csv, postgres, filter, ...); default: everything"),
  Argument.optional
)

const format = formatFlag(["text", "json"], "Output format: text (default) or json (an array of types with their keys)")

/**
 * Builds the `list` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.5.0
 */
export const command = () =>
  Command.make(
  "list",
  { filter, format },
  ({ filter, format }) =>
    Effect.gen(function*() {
      const { typeSchemas } = yield* engine
      const registry = yield* Registry
      // the CLI registers connectors with a client library lazily: their config Schemas load here
      if (registry.loadAll !== undefined) yield* Effect.orDie(registry.loadAll)
      const { definitions, types } = typeSchemas(registry.entries)
      const infos = typeInfos(types, definitions)
      const wanted = Option.getOrUndefined(filter)
      const chosen = select(infos, wanted)
      if (chosen === undefined) {
        return yield* reportError(
          `unknown type '${wanted}': expected sources, processors, sinks or one of ${knownNames(infos).join(", ")}`,
          ExitCode.usage
        )
      }
      yield* Console.log(format === "json" ? JSON.stringify(chosen, null, 2) : escapeLines(render(chosen)))
    }).pipe(provideRegistry)
).pipe(
  Command.withShortDescription("List connector and processor types with their config keys"),
  Command.withDescription(
    "List every connector and processor type the workflow file can name, with a one-line description and its config keys: type, whether required or its default, and what it does. Give a kind (sources, processors, sinks) or a type name to list only those. Exit code 0, or 2 for an unknown kind or type."
  ),
  Command.withExamples([
    { command: "dataflare list", description: "Every type with its config keys" },
    { command: "dataflare list sinks", description: "Only the sinks" },
    { command: "dataflare list postgres --format json", description: "The postgres source and sink as JSON" }
  ])
)
