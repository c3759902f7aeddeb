/**
 * Watching a pipeline from a program: `Observability.layer` serves Prometheus metrics, health
 * checks and the dashboard while the workflow runs (here on a free port of 127.0.0.1), and the
 * program reads its own endpoints as Prometheus or a load balancer would.
 *
 *   node_modules/.bin/node examples/dsl-observability.ts [record count]
 *
 * `dataflare run wf.yaml --http 127.0.0.1:4195` does the same for a YAML workflow; see
 * docs/observability.md for every metric and label.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Deferred, Effect, Fiber, Schedule } from "effect"
import { Memory, Pipeline } from "dataflare/dsl"
import { Builtins, Observability, type Runtime } from "dataflare"

const count = Number(process.argv[2] ?? 5000)

const pipeline = Pipeline.from("orders", Memory.generator({ count, fields: { status: "active" }, rate: count }))
  .named("observed")
  .filter("even", (r) => r.id % 2 === 0)
  .to("out", Memory.sink({ name: "observed-out" }))

const get = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(url)
    return { status: response.status, body: await response.text() }
  })

const program = Effect.gen(function*() {
  const listening = yield* Deferred.make<string>()
  return yield* Effect.gen(function*() {
    const base = yield* Deferred.await(listening)
    yield* Console.log(`serving ${base}/ (dashboard), ${base}/metrics, ${base}/ready`)
    // the generator hands out `count` records per second: the run lasts about a second
    const run = yield* Effect.forkChild(Pipeline.run(pipeline))
    const ready = yield* get(`${base}/ready`).pipe(
      Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (r) => r.status === 200 }),
      Effect.timeout("10 seconds")
    )
    yield* Console.log(`while it runs, GET /ready: ${ready.status} ${ready.body}`)
    const summary: Runtime.RunSummary = yield* Fiber.join(run)
    yield* Console.log(`${summary.workflow}: done, ${summary.nodes.find((n) => n.id === "out")?.recordsIn} records written`)
    // an ended run stays visible with its final numbers until the server closes
    const metrics = yield* get(`${base}/metrics`)
    for (const line of metrics.body.split("\n")) {
      if (/^dataflare_records_(in|out)_total\{/.test(line)) yield* Console.log(line)
    }
    const after = yield* get(`${base}/ready`)
    yield* Console.log(`after it, GET /ready: ${after.status} ${after.body}`)
  }).pipe(
    Effect.provide([
      Builtins.layer,
      Observability.layer({ port: 0, onListen: (url) => Effect.asVoid(Deferred.succeed(listening, url)) })
    ])
  )
})

NodeRuntime.runMain(program)
