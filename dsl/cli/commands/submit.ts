/**
 * `dataflare submit <workflow.yaml> --cluster <postgres url> [--parts n] [--detach] [--prefix p]`:
 * checks that the cluster can distribute the workflow, records its parts and sends them to the
 * cluster's runners, then follows it — one line per change of its parts — until every part has
 * ended (Ctrl-C detaches: the workflow goes on). Exit code 0 when every part is done, 3 when one
 * failed, 1 for a workflow the cluster cannot run. See docs/cluster.md.
 *
 * @since 0.5.0
 */
import * as os from "node:os"
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { cluster, clusterModule, options, prefix, reportClusterError } from "../internal/cluster.ts"
import { ExitCode, reportDefinitionError } from "../internal/exit.ts"
import { provideRegistry } from "../internal/registry.ts"
import { load, workflowArgument } from "../internal/workflow.ts"

const parts = Flag.Int("parts").pipe(
  Flag.filter((n) => n > 0, (n) => `--parts must be a positive integer, got ${n}`),
  Flag.withDescription("How many parts (byte ranges of the source file, key ranges of the source table) to split the workflow into (default: the cores of this machine)"),
  Flag.optional
)

const detach = Flag.Boolean("detach").pipe(
  Flag.withDescription("Return once the workflow is submitted instead of following it"),
  Flag.withDefault(false)
)

/**
 * The `submit` command.
 *
 * @category commands
 * @since 0.5.0
 */
export const command = Command.make(
  "submit",
  { workflow: workflowArgument, cluster, prefix, parts, detach },
  ({ workflow, cluster, prefix, parts, detach }) =>
    Effect.gen(function*() {
      const loaded = yield* load(workflow).pipe(Effect.catchTag("DefinitionError", (e) => reportDefinitionError(e, workflow)))
      const Cluster = yield* clusterModule
      // the file loaded again with ${NAME} kept as ${env:NAME}: the runners resolve the references,
      // so credentials never reach the cluster's tables (a file whose execution settings need a
      // variable's value does not load this way: the values stay, and literal credentials are refused)
      const deferred = yield* Effect.option(load(workflow, Cluster.deferringEnv(process.env)))
      const graph = deferred._tag === "Some" ? Cluster.deferReferences(loaded, deferred.value) : loaded
      const opts = options(cluster, prefix)
      const n = parts._tag === "Some" ? parts.value : Math.max(2, os.availableParallelism())
      yield* Cluster.submit(graph, { ...opts, parts: n, cwd: process.cwd() }).pipe(
        Effect.catchTag("ClusterError", reportClusterError(ExitCode.invalid))
      )
      yield* Console.error(`submitted ${graph.name}: ${n} parts`)
      if (detach) return
      let last = ""
      const ended = yield* Cluster.follow(graph.name, {
        ...opts,
        onUpdate: (rows) => {
          const line = rows.map((p) => `${p.part}:${p.status}${p.runner !== null ? `@${p.runner}` : ""} ${p.recordsOut}`).join("  ")
          if (line === last) return Effect.void
          last = line
          return Console.error(line)
        }
      }).pipe(Effect.catchTag("ClusterError", reportClusterError()))
      const failed = ended.filter((p) => p.status === "failed")
      const records = ended.reduce((s, p) => s + p.recordsOut, 0)
      // a part that started again (it moved, or its stopped workflow was submitted again) counts
      // only what it wrote after resuming from its checkpoint
      const moved = ended.filter((p) => p.attempts > 1).length
      const written = moved === 0 ? `${records} records written` : `${moved} part(s) resumed from a checkpoint`
      if (failed.length > 0) {
        for (const p of failed) yield* Console.error(`part ${p.part} failed: ${p.message ?? ""}`)
        return yield* reportClusterError()(new Cluster.ClusterError({ operation: "run", workflow: graph.name, message: `${failed.length} of ${ended.length} parts failed` }))
      }
      const stopped = ended.filter((p) => p.status === "stopped").length
      yield* Console.log(
        stopped > 0
          ? `${graph.name}: stopped (${stopped} of ${ended.length} parts stopped at a checkpoint), ${written}`
          : `${graph.name}: ${ended.length} parts done, ${written}`
      )
    }).pipe(provideRegistry)
).pipe(
  Command.withShortDescription("Run a workflow on a cluster of runners"),
  Command.withDescription(
    "Submit a workflow to the cluster whose state is in the PostgreSQL database given by --cluster: its csv source is split into --parts byte ranges (a postgres table source into key ranges), each run with the stateless chain after it on whichever runner holds it, writing its own output file (out.part-<i>.csv) or its own instance of a postgres sink. Environment variable references in node configs stay references, resolved by each runner from its own environment; a credential in clear is refused. A stopped workflow submitted again resumes from its parts' checkpoints. Follows the parts until they all end (Ctrl-C detaches). Exit code 0 when all parts are done, 1 for a workflow the cluster cannot distribute, 3 when a part failed."
  ),
  Command.withExamples([
    { command: "dataflare submit wf.yaml --cluster postgres://postgres@127.0.0.1/test --parts 6", description: "Run wf.yaml in 6 parts" }
  ])
)
