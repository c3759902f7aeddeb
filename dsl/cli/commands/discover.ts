/**
 * `dataflare discover <connection_string> <table> [--bigint bigint|string] [--name Name]
 * [--timeout ms]`: reads a PostgreSQL table's columns and prints an Effect Schema for its rows and
 * the TypeScript type, exactly what the `postgres` source produces — paste it into a typed DSL
 * workflow. A connection failure, no answer within `--timeout`, or a missing table exits 3 with
 * the reason; the connection string is never printed.
 *
 * @since 0.1.0
 */
import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { ExitCode, reportError } from "../internal/exit.ts"
import { maskSecrets, withDeadline } from "./check.ts"
import { timeoutFlag } from "../internal/flags.ts"

const connection = Argument.Redacted("connection_string").pipe(
  Argument.withDescription("PostgreSQL connection string, e.g. postgres://user:password@host:5432/db (never printed)")
)

const table = Argument.String("table").pipe(
  Argument.withDescription("The table, optionally schema-qualified: customers or sales.orders")
)

const bigint = Flag.Literals("bigint", ["bigint", "string"]).pipe(
  Flag.withDescription("How bigint/int8 columns are typed: bigint (default) or string"),
  Flag.withDefault("bigint")
)

const name = Flag.String("name").pipe(
  Flag.withDescription("Name of the exported Schema constant (default: the table name in PascalCase)"),
  Flag.optional
)

const timeout = timeoutFlag("How long to wait for the server", 10_000)

/** The postgres source module, loaded on first use like the rest of the engine. */
const postgres = Effect.promise(() => import("../../../src/connectors/postgres/PostgresSource.ts"))

/**
 * Builds the `discover` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.1.0
 */
export const command = () =>
  Command.make(
  "discover",
  { connection, table, bigint, name, timeout },
  ({ bigint, connection, name, table, timeout }) =>
    Effect.gen(function*() {
      const { discover } = yield* postgres
      const text = yield* withDeadline(
        discover(connection, table, { bigint, ...(name._tag === "Some" ? { name: name.value } : {}) }),
        timeout,
        reportError(`cannot discover '${table}': the server did not answer within ${timeout} ms`, ExitCode.failed)
      ).pipe(
        Effect.catchTag("ConnectorError", (error) =>
          reportError(`cannot discover '${table}': ${maskSecrets(error.reason.message)}`, ExitCode.failed))
      )
      yield* Console.log(text.endsWith("\n") ? text.slice(0, -1) : text)
    })
).pipe(
  Command.withShortDescription("Print the Schema and TypeScript type of a PostgreSQL table"),
  Command.withDescription(
    "Connect to PostgreSQL, read a table's columns and print an Effect Schema and TypeScript type for its rows, as the postgres source produces them. Exit code 0, or 3 when the database cannot be reached or the table does not exist."
  ),
  Command.withExamples([
    { command: "dataflare discover postgres://app@localhost:5432/shop public.customers", description: "Print the Schema of a table" },
    { command: "dataflare discover \"$DATABASE_URL\" orders --bigint string > src/Orders.ts", description: "Write it to a file, int8 as strings" }
  ])
)
