/**
 * `dataflare submit <workflow.yaml>... --cluster <postgres url> [--parts n] [--detach] [--prefix p]`:
 * checks that the cluster can distribute the workflow (or each of several, submitted in one
 * batch), records its parts and sends them to the cluster's runners, then follows it — one line per change of its parts — until every part has
 * ended (Ctrl-C detaches: the workflow goes on; the parts of a broker source never end by themselves:
 * they run until `dataflare stop`). Exit code 0 when every part is done, 3 when one
 * failed, 1 for a workflow the cluster cannot run. See docs/cluster.md.
 *
 * @since 0.5.0
 */
import * as os from "node:os"
import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { PartRow } from "../../../src/cluster/Cluster.ts"
import type { WorkflowGraph } from "../../../src/WorkflowGraph.ts"
import { cluster, clusterModule, options, prefix, reportClusterError } from "../internal/cluster.ts"
import { ExitCode, reportDefinitionError } from "../internal/exit.ts"
import { provideRegistry } from "../internal/registry.ts"
import { load } from "../internal/workflow.ts"

type ClusterModule = typeof import("../../../src/cluster/Cluster.ts")

const parts = Flag.Int("parts").pipe(
  Flag.filter((n) => n > 0, (n) => `--parts must be a positive integer, got ${n}`),
  Flag.withDescription("How many parts (byte ranges of the source file, key ranges of the source table, consumers of the source broker) to split the workflow into (default: the cores of this machine)"),
  Flag.optional
)

/** One workflow file or several (submitted in one batch). */
const workflows = Argument.String("workflow").pipe(
  Argument.withDescription("Path of a workflow YAML file, or several: submitted in one batch and followed together"),
  Argument.atLeast(1)
)

/** Follows several workflows: one line each time the counts change, then a line per workflow not done. */
const followMany = (Cluster: ClusterModule, names: ReadonlyArray<string>, opts: ReturnType<typeof options>) =>
  Effect.gen(function*() {
    let last = ""
    const byWorkflow = (rows: ReadonlyArray<PartRow>) => {
      const all = new Map<string, Array<PartRow>>()
      for (const p of rows) all.set(p.workflow, [...(all.get(p.workflow) ?? []), p])
      return all
    }
    const ended = yield* Cluster.followAll(names, {
      ...opts,
      onUpdate: (rows) => {
        const each = [...byWorkflow(rows).values()]
        const count = (f: (parts: ReadonlyArray<PartRow>) => boolean) => each.filter(f).length
        const line = `${count((ps) => ps.every((p) => p.status === "done"))}/${names.length} workflows done, ` +
          `${count((ps) => ps.some((p) => p.status === "running"))} running, ${count((ps) => ps.some((p) => p.status === "failed"))} with a failed part`
        if (line === last) return Effect.void
        last = line
        return Console.error(line)
      }
    }).pipe(Effect.catchTag("ClusterError", reportClusterError()))
    const notDone = [...byWorkflow(ended).entries()].filter(([, ps]) => ps.some((p) => p.status !== "done"))
    for (const [name, ps] of notDone) {
      for (const p of ps.filter((q) => q.status !== "done")) yield* Console.error(`${name} part ${p.part} ${p.status}${p.message !== null ? `: ${p.message}` : ""}`)
    }
    const failed = notDone.filter(([, ps]) => ps.some((p) => p.status === "failed")).length
    if (failed > 0) {
      return yield* reportClusterError()(new Cluster.ClusterError({ operation: "run", message: `${failed} of ${names.length} workflows have a failed part` }))
    }
    yield* Console.log(notDone.length > 0 ? `${names.length - notDone.length} of ${names.length} workflows done, ${notDone.length} stopped` : `${names.length} workflows done`)
  })

const detach = Flag.Boolean("detach").pipe(
  Flag.withDescription("Return once the workflow is submitted instead of following it"),
  Flag.withDefault(false)
)

/**
 * Builds the `submit` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.5.0
 */
export const command = () =>
  Command.make(
  "submit",
  { workflows, cluster, prefix, parts, detach },
  ({ workflows, cluster, prefix, parts, detach }) =>
    Effect.gen(function*() {
      const Cluster = yield* clusterModule
      const graphs: Array<WorkflowGraph> = []
      for (const workflow of workflows) {
        const loaded = yield* load(workflow).pipe(Effect.catchTag("DefinitionError", (e) => reportDefinitionError(e, workflow)))
        // the file loaded again with ${NAME} kept as ${env:NAME}: the runners resolve the references,
        // so credentials never reach the cluster's tables (a file whose execution settings need a
        // variable's value does not load this way: the values stay, and literal credentials are refused)
        const deferred = yield* Effect.option(load(workflow, Cluster.deferringEnv(process.env)))
        graphs.push(deferred._tag === "Some" ? Cluster.deferReferences(loaded, deferred.value) : loaded)
      }
      const opts = options(cluster, prefix)
      const n = parts._tag === "Some" ? parts.value : Math.max(2, os.availableParallelism())
      yield* Cluster.submitAll(graphs, { ...opts, parts: n, cwd: process.cwd() }).pipe(
        Effect.catchTag("ClusterError", reportClusterError(ExitCode.invalid))
      )
      if (graphs.length > 1) {
        yield* Console.error(`submitted ${graphs.length} workflows: ${n} parts each`)
        if (detach) return
        return yield* followMany(Cluster, graphs.map((g) => g.name), opts)
      }
      const graph = graphs[0]!
      const unbounded = Cluster.unboundedSource(graph)
      const keyed = Cluster.keyedOperators(graph)
      // one stage per keyed operator after the source's: `… running dedupe 'once' → exchange, 2 key-group ranges running aggregate 'per'`
      const stages = keyed.map((k, i) => `${n} key-group ranges running ${k.type} '${k.id}'${i < keyed.length - 1 ? " → exchange" : ""}`)
      yield* Console.error(
        keyed.length > 0
          ? `submitted ${graph.name}: ${(keyed.length + 1) * n} parts — ${n} source ranges writing the keyed exchange, ${stages.join(", ")}`
          : unbounded === undefined
          ? `submitted ${graph.name}: ${n} parts`
          : `submitted ${graph.name}: ${n} parts, consumers of ${unbounded.type} source '${unbounded.id}', which never ends: they run until \`dataflare stop ${graph.name}\` (Ctrl-C detaches)`
      )
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
      // (a keyed workflow's stages but the last write the exchange, not the sinks: its last stage's parts do)
      const lastStage = keyed.length === 0 ? 0 : (ended.length / (keyed.length + 1)) * keyed.length
      const records = ended.filter((p) => p.part >= lastStage).reduce((s, p) => s + p.recordsOut, 0)
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
    "Submit a workflow to the cluster whose state is in the PostgreSQL database given by --cluster: its csv or ndjson source is split into --parts byte ranges (a postgres or mysql table source into key ranges; a redis-streams or rabbitmq source into consumers, which run until stopped), each run with the stateless chain after it on whichever runner holds it, writing its own output file (out.part-<i>.csv) or its own instance of a postgres sink. Environment variable references in node configs stay references, resolved by each runner from its own environment; a credential in clear is refused. A stopped workflow submitted again resumes from its parts' checkpoints. Follows the parts until they all end (Ctrl-C detaches). Exit code 0 when all parts are done, 1 for a workflow the cluster cannot distribute, 3 when a part failed."
  ),
  Command.withExamples([
    { command: "dataflare submit wf.yaml --cluster postgres://postgres@127.0.0.1/test --parts 6", description: "Run wf.yaml in 6 parts" }
  ])
)
