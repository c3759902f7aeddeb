/**
 * Helpers of the observability tests: start a workflow with `Observability.layer` on a free
 * port, read its endpoints over real HTTP, and parse `/metrics` with an independent Prometheus
 * text parser.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import parsePrometheus, { type Family } from "parse-prometheus-text-format"
import { Deferred, Effect, Fiber, Layer, Schedule, type Scope } from "effect"
import * as Observability from "../../src/Observability.ts"
import type * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import type * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { bin } from "../cli/support.ts"

/** An HTTP GET: status and body text. */
export const get = (url: string): Effect.Effect<{ readonly status: number; readonly body: string }> =>
  Effect.promise(async () => {
    const response = await fetch(url)
    return { status: response.status, body: await response.text() }
  })

/** `/metrics` parsed by the independent parser. */
export const scrape = (base: string): Effect.Effect<ReadonlyArray<Family>> =>
  Effect.map(get(`${base}/metrics`), (r) => parsePrometheus(r.body))

/** The value of the one sample of `name` whose labels include `labels` (throws when absent). */
export const sampleOf = (families: ReadonlyArray<Family>, name: string, labels: { readonly [k: string]: string }): number => {
  const family = families.find((f) => f.name === name)
  if (family === undefined) throw new Error(`no metric ${name} in the scrape`)
  const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  if (sample === undefined) throw new Error(`no sample of ${name} with ${JSON.stringify(labels)}`)
  return Number(sample.value ?? sample.count)
}

/**
 * Retries `check` every 20 ms until it succeeds, a throw (a series not there yet) included; no
 * timing assumption: the test's timeout bounds it.
 */
export const eventually = <A, E, R>(check: Effect.Effect<A, E, R>): Effect.Effect<A, unknown, R> =>
  Effect.retry(Effect.catchDefect(check, (defect) => Effect.fail(defect)), Schedule.spaced("20 millis"))

/**
 * Runs `graph` with the observability layer on a free port of 127.0.0.1; `body` gets the base URL
 * the run's handle and an Effect waiting for the run's end (the server keeps serving the ended
 * run until `body` returns). The run is stopped (checkpoint) when `body` ends, unless it ended
 * already.
 */
export const observed = <A, E, E2>(
  graph: WorkflowGraph.WorkflowGraph,
  registry: Layer.Layer<Registry.Registry, E2>,
  body: (base: string, handle: Runtime.RunHandle, ended: Effect.Effect<Runtime.RunSummary, unknown>) => Effect.Effect<A, E>,
  options?: Runtime.RunOptions
) =>
  Effect.gen(function*() {
    const listening = yield* Deferred.make<string>()
    const started = yield* Deferred.make<Runtime.RunHandle>()
    const layer = Layer.merge(
      registry,
      Observability.layer({ port: 0, onListen: (url) => Deferred.succeed(listening, url).pipe(Effect.asVoid) })
    )
    return yield* Effect.gen(function*() {
      const run = yield* Effect.forkChild(Runtime.run(graph, {
        ...options,
        onStart: (handle) => Deferred.succeed(started, handle).pipe(Effect.asVoid)
      }))
      const base = yield* Deferred.await(listening)
      const handle = yield* Deferred.await(started)
      const result = yield* body(base, handle, Fiber.join(run))
      yield* handle.stop
      const summary = yield* Fiber.join(run)
      return { result, summary, base }
    }).pipe(Effect.provide(layer))
  })

/** A paced generator: runs until stopped. */
export const liveWorkflow = `name: live
execution: { batch_size: 100, checkpoint_interval: "200ms" }
sources:
  gen: { type: generator, config: { count: 1000000000, rate: 5000 } }
transformations:
  keep: { type: filter, inputs: [gen], config: { condition: "id % 2 == 0" } }
destinations:
  out: { type: collect, inputs: [keep], config: {} }
`

/** A running `dataflare run`, with what it printed so far. */
export interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Promise<number | null>
}

/** Starts `dataflare <args>` in `dir`; killed with the scope if still running. */
export const start = (dir: string, args: ReadonlyArray<string>, env?: Record<string, string>): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.gen(function*() {
    const child = spawn(bin, [...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", ...env } })
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (chunk) => (stdout += String(chunk)))
    child.stderr?.on("data", (chunk) => (stderr += String(chunk)))
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
    return { child, stdout: () => stdout, stderr: () => stderr, exited }
  })

/** The base URL the run logged once its server listened (JSON or text log line). */
export const servedAt = (running: Running): Effect.Effect<string> =>
  Effect.suspend(() => {
    const match = /serving (http:\/\/[^/\s]+)\//.exec(running.stderr())
    return match === null ? Effect.fail("not yet") : Effect.succeed(match[1])
  }).pipe(Effect.retry(Schedule.spaced("50 millis")), Effect.orDie)


/**
 * Fails the test at once, with the command that installs it, when a tool it drives is missing
 * (`.ci/run` installs both through scripts/services.sh).
 */
export const requireTool = (path: string, debianPackage: string): Effect.Effect<void> =>
  Effect.sync(() => {
    const found = path.startsWith("/")
      ? existsSync(path)
      : (process.env.PATH ?? "").split(":").some((dir) => existsSync(`${dir}/${path}`))
    if (!found) throw new Error(`${path} is not installed: run 'apt-get install -y ${debianPackage}' (as root; bash scripts/services.sh does it)`)
  })
