/**
 * `dataflare stop <workflow-name> --cluster <postgres url> [--prefix p]`: stops a workflow running
 * on the cluster gracefully — each running part takes a checkpoint where it is and ends
 * (`stopped`), parts not started do not start. Returns once asked; `submit` (if following) and
 * `status` show the parts ending. See docs/cluster.md.
 *
 * @since 0.5.0
 */
import { Console, Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { cluster, clusterModule, options, prefix, reportClusterError } from "../internal/cluster.ts"

const name = Argument.String("name").pipe(Argument.withDescription("The workflow's name (its `name:`)"))

/**
 * Builds the `stop` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.5.0
 */
export const command = () =>
  Command.make(
  "stop",
  { name, cluster, prefix },
  ({ name, cluster, prefix }) =>
    Effect.gen(function*() {
      const Cluster = yield* clusterModule
      const asked = yield* Cluster.stop(name, options(cluster, prefix)).pipe(Effect.catchTag("ClusterError", reportClusterError()))
      yield* Console.log(`${name}: ${asked} part(s) asked to stop (each takes a checkpoint where it is and ends)`)
    })
).pipe(
  Command.withShortDescription("Stop a workflow running on a cluster"),
  Command.withDescription(
    "Stop a workflow running on the cluster whose state is in the PostgreSQL database given by --cluster: every running part takes a checkpoint where it is and ends (status stopped); parts not started do not start. Exit code 0, or 3 when no part of the workflow is running."
  ),
  Command.withExamples([{ command: "dataflare stop orders --cluster postgres://postgres@127.0.0.1/test", description: "Stop the workflow named orders" }])
)
