/**
 * `dataflare test <workflow.yaml> [--tests <file>] [--timeout <ms>]`: config unit tests written
 * beside a workflow (`orders.yaml` → `orders.test.yaml`), as `rpk connect test` runs them. Each
 * test gives records to sources or transformations and the records transformations or
 * destinations must output (or the node whose failure it expects: `expect_error`); it runs the part of the workflow between them with in-memory
 * connectors swapped in — no real input is read, no real destination written — and a failing
 * test prints a diff. Exit code 0 when every test passes, 1 when one fails or the workflow or
 * the tests file is invalid (each problem at its `file:line:column`).
 *
 * @since 0.5.0
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { provideRegistry } from "../internal/registry.ts"
import { workflowArgument } from "../internal/workflow.ts"
import { timeoutFlag } from "../internal/flags.ts"

const tests = Flag.String("tests").pipe(
  Flag.withAlias("t"),
  Flag.withDescription("The tests file (default: the workflow's name with .test before its extension: orders.test.yaml)"),
  Flag.optional
)

const timeout = timeoutFlag("How long one test may run", 60_000)

/** The runner, loaded on first use like the rest of the engine. */
const runner = Effect.promise(() => import("../internal/unitTest/runner.ts"))

/**
 * Builds the `test` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.5.0
 */
export const command = () =>
  Command.make(
  "test",
  { workflow: workflowArgument, tests, timeout },
  ({ tests, timeout, workflow }) =>
    Effect.gen(function*() {
      const { defaultTestsFile, runTests } = yield* runner
      yield* runTests(workflow, Option.getOrElse(tests, () => defaultTestsFile(workflow)), timeout)
    }).pipe(provideRegistry)
).pipe(
  Command.withShortDescription("Run a workflow's unit tests with in-memory inputs and outputs"),
  Command.withDescription(
    "Run the tests written beside a workflow (orders.yaml → orders.test.yaml): each gives records to sources or transformations and the records transformations or destinations must output, and runs that part of the workflow with in-memory connectors (nothing real is read or written). A failing test prints a diff. Exit code 0 when every test passes, 1 when one fails or a file is invalid."
  ),
  Command.withExamples([
    { command: "dataflare test examples/csv-to-ndjson.yaml", description: "Run examples/csv-to-ndjson.test.yaml" },
    { command: "dataflare test pipeline.yaml --tests tests/pipeline.yaml", description: "Name the tests file" }
  ])
)
