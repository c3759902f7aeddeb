/**
 * `dataflare runner --cluster <postgres url> --listen <host:port> [--prefix p] [--max-parts n]`:
 * starts a runner process that joins the cluster (runners and messages stored in PostgreSQL),
 * takes its share of the shards and runs the workflow parts they hold, n at a time, until SIGINT/SIGTERM (its shards then move to
 * the other runners). See docs/cluster.md.
 *
 * @since 0.5.0
 */
import { Console, Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { cluster, clusterModule, options, prefix, reportClusterError } from "../internal/cluster.ts"
import { ExitCode, reportError } from "../internal/exit.ts"
import { provideRegistry } from "../internal/registry.ts"

const listen = Flag.String("listen").pipe(
  Flag.withDescription("Address the runner listens on and the other runners reach it at (host:port)")
)

const maxParts = Flag.Int("max-parts").pipe(
  Flag.filter((n) => n > 0, (n) => `--max-parts must be a positive integer, got ${n}`),
  Flag.withDescription("How many parts the runner runs at once (the others wait for one to end); default 4"),
  Flag.optional
)

/** `host:port` → its parts, or undefined. */
const parseListen = (text: string): { readonly host: string; readonly port: number } | undefined => {
  const at = text.lastIndexOf(":")
  const port = Number(text.slice(at + 1))
  return at > 0 && Number.isInteger(port) && port > 0 && port < 65536 ? { host: text.slice(0, at), port } : undefined
}

/**
 * Builds the `runner` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.5.0
 */
export const command = () =>
  Command.make(
  "runner",
  { cluster, listen, prefix, maxParts },
  ({ cluster, listen, prefix, maxParts }) =>
    Effect.gen(function*() {
      const address = parseListen(listen)
      if (address === undefined) return yield* reportError(`--listen: expected host:port, got '${listen}'`, ExitCode.usage)
      const Cluster = yield* clusterModule
      yield* Console.error(`runner ${address.host}:${address.port} joining the cluster (tables ${prefix}_*)`)
      yield* Layer.launch(Cluster.runner({
        ...options(cluster, prefix),
        listen: address,
        ...(maxParts._tag === "Some" ? { maxParts: maxParts.value } : {})
      })).pipe(
        Effect.catchTag("ClusterError", reportClusterError(ExitCode.internal))
      )
    }).pipe(provideRegistry)
).pipe(
  Command.withShortDescription("Start a cluster runner that runs workflow parts"),
  Command.withDescription(
    "Start a runner: it joins the cluster whose runners, messages, parts and checkpoints are in the PostgreSQL database given by --cluster, listens on --listen for the other runners, and runs the parts of submitted workflows its shards hold until it is stopped (SIGINT/SIGTERM); when a runner dies, its parts move to the others and resume from their last checkpoints."
  ),
  Command.withExamples([
    { command: "dataflare runner --cluster postgres://postgres@127.0.0.1/test --listen 127.0.0.1:34431", description: "A runner on this machine" }
  ])
)
