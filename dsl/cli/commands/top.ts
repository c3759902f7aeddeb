/**
 * `dataflare top [url] [--once]`: a live terminal view of a running workflow, read every second
 * from the `/metrics` endpoint of `dataflare run --http` (default `http://127.0.0.1:4195`): per
 * node the records per second in and out, totals, errors, dead letters, queue fill (a full queue
 * means the node after it is the bottleneck) and the sources' lag; per workflow its readiness,
 * checkpoints and restarts. Plain text redrawn in place (clear screen + home: any terminal, over
 * ssh too); not on a terminal, each frame is printed after the previous one. Ctrl-C quits (exit 0).
 * An endpoint that does not answer is shown as such and tried again every second.
 *
 * @since 0.2.0
 */
import { Clock, Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { parse, type Sample } from "../internal/prometheus.ts"
import { stopRequested, whileArmed } from "../internal/signals.ts"
import { escapeControl } from "../internal/text.ts"
import { frameOf, render } from "../internal/topView.ts"

const url = Argument.String("url").pipe(
  Argument.withDescription("Base URL of a `dataflare run --http` server (host:port or http://host:port)"),
  Argument.withDefault("http://127.0.0.1:4195")
)

const once = Flag.Boolean("once").pipe(
  Flag.withDescription("Print one frame (rates over one second) and exit, instead of refreshing"),
  Flag.withDefault(false)
)

/** `host:port` → `http://host:port`; a trailing slash or `/metrics` dropped. */
const baseOf = (input: string): string => {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? input : `http://${input}`
  return withScheme.replace(/\/(metrics)?\/?$/, "")
}

/** One scrape: the samples, or why there are none. */
const scrape = (base: string): Effect.Effect<ReadonlyArray<Sample> | string> =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(`${base}/metrics`, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) })
      if (!response.ok) return `${base}/metrics answered ${response.status} ${response.statusText}`
      return parse(await response.text())
    },
    catch: (error) => error
  }).pipe(
    Effect.catch((error) =>
      Effect.succeed(
        `cannot read ${base}/metrics: ${
          error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)
        }`
      )
    )
  )

/**
 * Builds the `top` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.2.0
 */
export const command = () =>
  Command.make("top", { url, once }, ({ once, url }) =>
  Effect.gen(function*() {
    const base = baseOf(url)
    const terminal = process.stdout.isTTY === true
    let previous: { readonly samples: ReadonlyArray<Sample>; readonly at: number } | undefined
    const frame = Effect.gen(function*() {
      const result = yield* scrape(base)
      const now = yield* Clock.currentTimeMillis
      if (typeof result === "string") {
        previous = undefined
        return [`dataflare top — ${base}`, "", `${escapeControl(result)}; trying again every second`]
      }
      const lines = render(
        frameOf(result, previous?.samples, previous === undefined ? 0 : (now - previous.at) / 1000, now / 1000),
        base,
        process.stdout.columns ?? 120
      )
      previous = { samples: result, at: now }
      return lines
    })
    if (once) {
      yield* frame
      yield* Effect.sleep(1000)
      yield* Console.log((yield* frame).join("\n"))
      return
    }
    const loop = Effect.forever(Effect.gen(function*() {
      const lines = yield* frame
      process.stdout.write(terminal ? `\x1b[H\x1b[2J${lines.join("\n")}\n` : `${lines.join("\n")}\n\n`)
      yield* Effect.sleep(1000)
    }))
    // Ctrl-C ends the view (exit 0), it is not an error
    yield* whileArmed("", Effect.raceFirst(loop, stopRequested), () => {})
  })).pipe(
    Command.withShortDescription("A live terminal view of a running workflow's metrics"),
    Command.withDescription(
      "Show per node records/s in and out, totals, errors, dead letters, queue fill and lag, refreshed every second from the /metrics endpoint of `dataflare run --http`. Works in any terminal (over ssh too). Ctrl-C quits."
    ),
    Command.withExamples([
      { command: "dataflare top", description: "Watch the workflow serving http://127.0.0.1:4195" },
      { command: "dataflare top 10.0.0.5:4195 --once", description: "Print one frame of a remote run and exit" }
    ])
  )
