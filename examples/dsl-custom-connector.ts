/**
 * A pipeline from a custom source to a custom sink (examples/connector/Counter.ts), registered
 * beside the built-in connectors — what docs/connectors/writing-a-connector.md builds.
 *
 *   node --conditions=dataflare-source examples/dsl-custom-connector.ts [to]
 *
 * Prints the even numbers from 1 to `to` (default 10), one `n=` line each, then a summary line.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Builtins, Registry } from "dataflare"
import { Pipeline } from "dataflare/dsl"
import { Console, Effect } from "effect"
import { Counter, counter, Printer, printer } from "./connector/Counter.ts"

const to = Number(process.argv[2] ?? 10)

const pipeline = Pipeline.from("numbers", counter({ from: 1, to }))
  .named("dsl-custom-connector")
  .filter("even", (r) => r.n % 2 === 0)
  .to("print", printer({ prefix: "n=" }))

// #region register
const registry = Registry.layer([...Builtins.definitions, Counter, Printer])

const program = Effect.gen(function*() {
  const summary = yield* Pipeline.run(pipeline)
  yield* Console.log(`workflow ${summary.workflow}: ${summary.nodes.find((n) => n.id === "print")?.recordsIn ?? 0} records printed`)
}).pipe(Effect.provide(registry))
// #endregion register

NodeRuntime.runMain(program)
