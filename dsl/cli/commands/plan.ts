/**
 * `dataflare plan <workflow.yaml> [--format text|mermaid|dot]`: validates a workflow (as
 * `validate` does) and prints its execution plan — stages, tasks, fused chains, parallelism,
 * queue capacities and the delivery guarantee — as text, or as a Mermaid or Graphviz graph.
 *
 * @since 0.1.0
 */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { engine } from "../internal/engine.ts"
import { reportDefinitionError } from "../internal/exit.ts"
import { provideRegistry } from "../internal/registry.ts"
import { escapeLines } from "../internal/text.ts"
import { load, workflowArgument } from "../internal/workflow.ts"
import { formatFlag } from "../internal/flags.ts"

const format = formatFlag(["text", "mermaid", "dot"], "Output format: text (default), mermaid (a flowchart) or dot (Graphviz)")

/**
 * Builds the `plan` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.1.0
 */
export const command = () =>
  Command.make(
  "plan",
  { workflow: workflowArgument, format },
  ({ format, workflow }) =>
    Effect.gen(function*() {
      const { planFormat, Runtime } = yield* engine
      const graph = yield* load(workflow)
      const plan = Runtime.plan(yield* Runtime.prepare(graph))
      const PlanFormat = yield* Effect.promise(planFormat)
      yield* Console.log(
        escapeLines(format === "mermaid" ? PlanFormat.mermaid(plan) : format === "dot" ? PlanFormat.dot(plan) : PlanFormat.text(plan))
      )
    }).pipe(
      Effect.catchTag("DefinitionError", (error) => reportDefinitionError(error, workflow)),
      provideRegistry
    )
).pipe(
  Command.withShortDescription("Show how a workflow will run: tasks, fused chains, parallelism"),
  Command.withDescription(
    "Validate a workflow and print its execution plan: stages, tasks, fused chains of stateless processors, parallelism, queue capacities and the delivery guarantee. Exit code 0, or 1 when the workflow is invalid."
  ),
  Command.withExamples([
    { command: "dataflare plan examples/csv-to-ndjson.yaml", description: "Print the plan as text" },
    { command: "dataflare plan pipeline.yaml --format mermaid", description: "A Mermaid flowchart of the tasks" }
  ])
)
