/**
 * `dataflare validate <workflow.yaml>`: checks a workflow without running it — the YAML, every
 * node's type and config against the registry, the inputs and the graph's shape. Prints
 * `ok: <file> (<n> nodes)`, or every problem as `file:line:col path: message` (exit code 1).
 *
 * @since 0.1.0
 */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { engine } from "../internal/engine.ts"
import { reportDefinitionError } from "../internal/exit.ts"
import { provideRegistry } from "../internal/registry.ts"
import { escapeControl } from "../internal/text.ts"
import { load, workflowArgument } from "../internal/workflow.ts"

/**
 * Builds the `validate` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.1.0
 */
export const command = () =>
  Command.make(
  "validate",
  { workflow: workflowArgument },
  ({ workflow }) =>
    Effect.gen(function*() {
      const { Runtime } = yield* engine
      const graph = yield* load(workflow)
      yield* Runtime.prepare(graph)
      const n = graph.nodes.length
      yield* Console.log(`ok: ${escapeControl(workflow)} (${n} ${n === 1 ? "node" : "nodes"})`)
    }).pipe(
      Effect.catchTag("DefinitionError", (error) => reportDefinitionError(error, workflow)),
      provideRegistry
    )
).pipe(
  Command.withShortDescription("Check a workflow without running it"),
  Command.withDescription(
    "Check a workflow without running it: YAML syntax, node types and configs, inputs, cycles. Exit code 0 when valid, 1 when not."
  ),
  Command.withExamples([{ command: "dataflare validate examples/csv-to-ndjson.yaml", description: "Check a workflow" }])
)
