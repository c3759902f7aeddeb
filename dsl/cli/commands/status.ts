/**
 * `dataflare status --cluster <postgres url> [--workflow name] [--format text|json] [--prefix p]`:
 * lists the cluster's runners (with their last heartbeat), the runner of the checkpoint
 * coordinator, and the parts of its workflows: status, the runner holding each, records written,
 * how many times it started; and each workflow's last completed global checkpoint. See docs/cluster.md.
 *
 * @since 0.5.0
 */
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { cluster, clusterModule, options, prefix, reportClusterError } from "../internal/cluster.ts"
import { formatFlag } from "../internal/flags.ts"

const workflow = Flag.String("workflow").pipe(Flag.withDescription("Only this workflow's parts"), Flag.optional)

const format = formatFlag(["text", "json"], "Output format: text (default) or json ({ runners, coordinator, workflows, parts })")

/**
 * Builds the `status` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.5.0
 */
export const command = () =>
  Command.make(
  "status",
  { cluster, prefix, workflow, format },
  ({ cluster, prefix, workflow, format }) =>
    Effect.gen(function*() {
      const Cluster = yield* clusterModule
      const { runners, coordinator, workflows: checkpoints, parts } = yield* Cluster.status({
        ...options(cluster, prefix),
        workflow: workflow._tag === "Some" ? workflow.value : undefined
      }).pipe(Effect.catchTag("ClusterError", reportClusterError()))
      if (format === "json") return yield* Console.log(JSON.stringify({ runners, coordinator, workflows: checkpoints, parts }, null, 2))
      yield* Console.log(`runners (${runners.length})`)
      for (const r of runners) {
        yield* Console.log(`  ${r.address}  ${r.healthy ? "healthy" : "unhealthy"}  last heartbeat ${r.lastHeartbeat.toISOString()}`)
      }
      yield* Console.log(
        coordinator === undefined
          ? "checkpoint coordinator: not started yet"
          : `checkpoint coordinator on ${coordinator.runner} since ${coordinator.startedAt.toISOString()}, last tick ${coordinator.heartbeat.toISOString()}`
      )
      const workflows = [...new Set(parts.map((p) => p.workflow))]
      yield* Console.log(`workflows (${workflows.length})`)
      for (const name of workflows) {
        const own = parts.filter((p) => p.workflow === name)
        const done = own.filter((p) => p.status === "done").length
        const global = checkpoints.find((w) => w.workflow === name)
        yield* Console.log(
          `  ${name}  ${done}/${own.length} parts done${global === undefined ? "" : `  global checkpoint ${global.completed} (${global.epoch > global.completed ? `${global.epoch} in progress` : "none in progress"})`}`
        )
        for (const p of own) {
          yield* Console.log(
            `    part ${p.part}${p.role !== null ? ` (${p.role})` : ""}  ${p.status}  ${p.runner ?? "-"}  ${p.recordsOut} records since start  checkpoint ${p.checkpoint ?? "-"}  ${p.attempts} start(s)${p.message !== null ? `  ${p.message.split("\n")[0]}` : ""}`
          )
        }
      }
    })
).pipe(
  Command.withShortDescription("List a cluster's runners and workflow parts"),
  Command.withDescription("List the runners of the cluster whose state is in the PostgreSQL database given by --cluster, and the parts of its workflows: status, the runner holding each, records written."),
  Command.withExamples([{ command: "dataflare status --cluster postgres://postgres@127.0.0.1/test", description: "Runners and workflows" }])
)
