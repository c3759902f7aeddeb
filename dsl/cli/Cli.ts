/**
 * The `dataflare` command-line interface, built with `effect/cli`.
 *
 * Each subcommand lives in its own file under `commands/` and is listed in {@link subcommands};
 * adding a command (`plan`, `check`, ...) is one new file and one line here. Commands print their
 * own errors and fail with an exit code (see `docs/cli.md`): 0 ok, 1 invalid workflow, 2 usage
 * error, 3 run failed, 4 internal error, 130 interrupted.
 *
 * @since 0.1.0
 */
import { Cause, Console, Effect, Exit, type Runtime, Stdio } from "effect"
import { CliOutput, Command } from "effect/cli"
import packageJson from "../../package.json" with { type: "json" }
import * as Run from "./commands/run.ts"
import { CliExit, ExitCode } from "./internal/exit.ts"

/**
 * The subcommands, in the order `--help` lists them, each as the function that builds it (after
 * loading its module). `run` is part of the CLI's own module; the others are one module loaded when
 * a command line needs one of them (`internal/otherCommands.ts`), so that `dataflare run` neither
 * loads, compiles nor builds their code (≈ 5 % of its start-up); a run builds only the command it
 * names (see {@link selected}).
 *
 * @category commands
 * @since 0.1.0
 */
export const subcommands = {
  run: () => Promise.resolve(Run.command()),
  validate: () => other("validate"),
  plan: () => other("plan"),
  check: () => other("check"),
  checkpoints: () => other("checkpoints"),
  discover: () => other("discover"),
  top: () => other("top"),
  schema: () => other("schema"),
  list: () => other("list"),
  test: () => other("test"),
  runner: () => other("runner"),
  submit: () => other("submit"),
  status: () => other("status"),
  stop: () => other("stop")
} as const

type Others = typeof import("./internal/otherCommands.ts")["builders"]

/** Builds one of the subcommands other than `run` (their module loads once). */
const other = <K extends keyof Others>(name: K): Promise<ReturnType<Others[K]>> =>
  import("./internal/otherCommands.ts").then((m) => m.builders[name]() as ReturnType<Others[K]>)

type Name = keyof typeof subcommands

/** One of the subcommands, built. */
type Subcommand = Awaited<ReturnType<(typeof subcommands)[Name]>>

const names = Object.keys(subcommands) as ReadonlyArray<Name>

const isName = (word: string | undefined): word is Name => word !== undefined && Object.hasOwn(subcommands, word)

/**
 * The subcommands a command line needs: the one it names first (`dataflare run ...`), or all of
 * them — for `--help`, `--version`, an unknown or misspelt subcommand (the error suggests the
 * closest names), a flag before the subcommand, and the built-in flags that read the whole
 * command tree wherever they stand (`--completions`, `--wizard`). The parse of a command line
 * naming its subcommand first only ever looks at that subcommand, so it is the same with or
 * without the others.
 *
 * @category running
 * @since 0.5.0
 */
export const selected = (args: ReadonlyArray<string>): ReadonlyArray<Name> => {
  const first = args[0]
  const wholeTree = args.some((arg) => arg === "--wizard" || arg === "--completions" || arg.startsWith("--completions="))
  return isName(first) && !wholeTree ? [first] : names
}

/** The root `dataflare` command over the given subcommands. */
const root = (commands: ReadonlyArray<Subcommand>) =>
  Command.make("dataflare").pipe(
    Command.withDescription("DataFlare: typed data integration pipelines. Run and check YAML workflows."),
    Command.withSubcommands(commands)
  )

/**
 * The version printed by `--version` (the package's).
 *
 * @category constants
 * @since 0.1.0
 */
export const version: string = packageJson.version

export { ExitCode }

/** Usage errors: the messages on stderr, then where to find help; no help dump on stdout. */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Effect.gen(function*() {
        for (const error of event.errors) yield* Console.error(`error: ${error.message}`)
        yield* Console.error(`run '${[...event.commandPath, "--help"].join(" ")}' for usage`)
      })
      : CliOutput.defaultPresenter.present(event)
}

/**
 * Runs the CLI on the process arguments. Fails with {@link CliExit} carrying the exit code once
 * the failure has been printed.
 *
 * @category running
 * @since 0.1.0
 */
export const main = Effect.gen(function*() {
  const args = yield* Stdio.Stdio.use(({ args }) => args)
  const commands = yield* Effect.promise(() => Promise.all(selected(args).map((name) => subcommands[name]())))
  return yield* Command.run(root(commands), { version })
}).pipe(
  Effect.provide(CliOutput.layerPresenter(presenter)),
  Effect.catchTag("ShowHelp", (help) =>
    help.errors.length > 0 ? Effect.fail(new CliExit({ code: ExitCode.usage })) : Effect.void)
)

/**
 * Maps the end of the CLI's main fiber to a process exit code: a {@link CliExit}'s code, 130
 * when interrupted, 4 for anything unexpected (a bug; its cause is printed by the runtime).
 *
 * @category running
 * @since 0.1.0
 */
export const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit)) return onExit(ExitCode.ok)
  if (Cause.hasInterruptsOnly(exit.cause)) return onExit(130)
  const error = Cause.squash(exit.cause)
  onExit(error instanceof CliExit ? error.code : ExitCode.internal)
}
