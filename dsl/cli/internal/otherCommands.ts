/**
 * Every subcommand but `run`, as the functions that build them: one module the CLI imports when a
 * command line needs one of them (or the whole tree: `--help`, `--version`, a misspelt name), so
 * that `dataflare run` loads none of their code (see `Cli.ts`, `subcommands`).
 */
import * as Check from "../commands/check.ts"
import * as Checkpoints from "../commands/checkpoints.ts"
import * as Discover from "../commands/discover.ts"
import * as List from "../commands/list.ts"
import * as Plan from "../commands/plan.ts"
import * as Runner from "../commands/runner.ts"
import * as Schema from "../commands/schema.ts"
import * as Status from "../commands/status.ts"
import * as Stop from "../commands/stop.ts"
import * as Submit from "../commands/submit.ts"
import * as Test from "../commands/test.ts"
import * as Top from "../commands/top.ts"
import * as Validate from "../commands/validate.ts"

/** The builders of the subcommands other than `run`, by name. */
export const builders = {
  validate: Validate.command,
  plan: Plan.command,
  check: Check.command,
  checkpoints: Checkpoints.command,
  discover: Discover.command,
  top: Top.command,
  schema: Schema.command,
  list: List.command,
  test: Test.command,
  runner: Runner.command,
  submit: Submit.command,
  status: Status.command,
  stop: Stop.command
} as const
