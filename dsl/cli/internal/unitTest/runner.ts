/**
 * `dataflare test`'s engine: loads the workflow and its tests file, checks every case against the
 * workflow before running any, then runs the cases one after the other, each with in-memory
 * connectors swapped in (see harness.ts), and prints `PASS` / `FAIL` per case with a diff of
 * the records that differ. Loaded on first use (it brings the YAML parser and the runtime).
 */
import { readFile } from "node:fs/promises"
import { Cause, Console, Effect, Exit, Predicate } from "effect"
import { DefinitionError, type DefinitionIssue, escapeControl, formatLocation, type NodeError } from "../../../../src/Errors.ts"
import * as Overrides from "../../../../src/Overrides.ts"
import type { PreparedSink, PreparedSource, Registry } from "../../../../src/Registry.ts"
import * as Runtime from "../../../../src/Runtime.ts"
import * as Testing from "../../../../src/testing/Testing.ts"
import type { WorkflowGraph } from "../../../../src/WorkflowGraph.ts"
import { type CliExit, ExitCode, reportDefinitionError, reportError } from "../exit.ts"
import * as Yaml from "../../../yaml/Yaml.ts"
import { compare, renderDiff } from "./compare.ts"
import { type ExpectedError, type Parsed, parseTests, type TestCase } from "./file.ts"
import { type Harness, harness } from "./harness.ts"

/** How a case ended. */
export interface CaseResult {
  readonly test: TestCase
  readonly passed: boolean
  /** What is printed under a failed case. */
  readonly details: ReadonlyArray<string>
}

/** The tests file that `dataflare test wf.yaml` reads when none is given: `wf.test.yaml`. */
export const defaultTestsFile = (workflow: string): string => {
  const match = /\.ya?ml$/i.exec(workflow)
  return match === null ? `${workflow}.test.yaml` : `${workflow.slice(0, match.index)}.test${match[0]}`
}

const READ_ERRORS: { readonly [code: string]: string } = { EACCES: "permission denied", EISDIR: "is a directory" }

/** Reads and parses the tests file; a missing or invalid one is reported (exit code 1). */
const readTests = (file: string): Effect.Effect<Extract<Parsed, { readonly ok: true }>, CliExit> =>
  Effect.tryPromise({ try: () => readFile(file, "utf8"), catch: (cause) => cause }).pipe(
    Effect.catch((cause) => {
      const code = cause !== null && typeof cause === "object" && "code" in cause ? cause.code : undefined
      return reportError(
        code === "ENOENT"
          ? `no tests file ${file}: write the tests beside the workflow (see docs/cli.md, 'dataflare test'), or name the file with --tests`
          : `cannot read the tests file ${file}: ${READ_ERRORS[String(code)] ?? (cause instanceof Error ? cause.message : String(cause))}`,
        ExitCode.invalid
      )
    }),
    Effect.flatMap((text) => {
      const parsed = parseTests(text, file)
      return parsed.ok ? Effect.succeed(parsed) : reportDefinitionError(new DefinitionError({ issues: parsed.issues }), file)
    })
  )

const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof DefinitionError) return error.issues.map((i) => `${i.path}: ${i.message}`).join("; ")
  return error instanceof Error ? error.message : String(error)
}

/** Whether a run failed as `expected` says: in its node, with its text in the message. */
const failedAsExpected = (
  expected: ExpectedError,
  exit: Exit.Exit<unknown, unknown>
): { readonly passed: boolean; readonly details: ReadonlyArray<string> } => {
  const wanted = `node '${expected.node}' to fail${expected.message === undefined ? "" : ` with '${expected.message}'`}`
  if (Exit.isSuccess(exit)) return { passed: false, details: [`expected ${wanted}; the run completed`] }
  const error = Cause.squash(exit.cause)
  const message = describeFailure(exit.cause)
  const inNode = Predicate.isTagged(error, "NodeError") && (error as NodeError).node === expected.node
  const passed = inNode && (expected.message === undefined || message.includes(expected.message))
  return { passed, details: passed ? [] : [`expected ${wanted}; the run failed: ${message}`] }
}

/** Runs one case's graph and compares what its collectors received with what it expects. */
const runCase = (test: TestCase, plan: Harness, timeout: number): Effect.Effect<CaseResult, never, Registry> =>
  Effect.gen(function*() {
    const overrides: { [node: string]: PreparedSource | PreparedSink } = {}
    for (const [id, records] of plan.inputs) overrides[id] = Testing.memorySource(records)
    const collectors = new Map<string, Testing.Collector>()
    for (const id of plan.collect) {
      const collector = yield* Testing.collector()
      collectors.set(id, collector)
      overrides[id] = collector.sink
    }
    const exit = yield* Runtime.run(plan.graph).pipe(
      Effect.provide(Overrides.layer(overrides)),
      Effect.timeoutOption(timeout),
      Effect.exit
    )
    if (Exit.isSuccess(exit) && exit.value._tag === "None") {
      return { test, passed: false, details: [`the run did not finish within ${timeout} ms (--timeout)`] }
    }
    if (test.expectError !== undefined) return { test, ...failedAsExpected(test.expectError, exit) }
    if (Exit.isFailure(exit)) return { test, passed: false, details: [`the run failed: ${describeFailure(exit.cause)}`] }
    const details: Array<string> = []
    for (const [k, entry] of test.expect.entries()) {
      const collector = collectors.get(plan.collectedBy[k]) as Testing.Collector
      const received = yield* collector.records
      const result = compare(entry.records, received, test.ordered, test.match)
      if (result.equal) continue
      const counts = `${entry.records.length} ${entry.records.length === 1 ? "record" : "records"} expected, ${received.length} received`
      const how = [test.ordered ? "" : "in any order", test.match === "subset" ? "named fields only" : ""].filter((w) => w !== "").join(", ")
      details.push(`${entry.node}: ${counts}${how === "" ? "" : ` (${how})`} (- expected, + received)`)
      details.push(...renderDiff(result.diff, "  "))
    }
    return { test, passed: details.length === 0, details }
  })

/** The cases' harnesses, or every problem of every case (nothing runs then). */
const planAll = (
  graph: WorkflowGraph,
  cases: ReadonlyArray<TestCase>
): { readonly ok: true; readonly plans: ReadonlyArray<Harness> } | { readonly ok: false; readonly issues: ReadonlyArray<DefinitionIssue> } => {
  const plans: Array<Harness> = []
  const issues: Array<DefinitionIssue> = []
  for (const test of cases) {
    const built = harness(graph, test)
    if (built.ok) plans.push(built.harness)
    else issues.push(...built.issues)
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, plans }
}

/**
 * Runs the tests of `workflow` from `testsFile`: prints one line per case (and, for a failed
 * one, what differs), then a count; fails with exit code 1 when a case failed or the workflow or
 * the tests file is invalid.
 */
export const runTests = (
  workflow: string,
  testsFile: string,
  timeout: number
): Effect.Effect<void, CliExit, Registry> =>
  Effect.gen(function*() {
    const { cases, env } = yield* readTests(testsFile)
    const graph = yield* Yaml.load(workflow, { env: { ...process.env, ...env } }).pipe(
      Effect.tap(Runtime.prepare),
      Effect.catchTag("DefinitionError", (error) => reportDefinitionError(error, workflow))
    )
    const planned = planAll(graph, cases)
    if (!planned.ok) return yield* reportDefinitionError(new DefinitionError({ issues: planned.issues }), testsFile)
    let failed = 0
    for (const [k, test] of cases.entries()) {
      const result = yield* runCase(test, planned.plans[k], timeout)
      const where = test.location === undefined ? "" : `  (${formatLocation(test.location)})`
      yield* Console.log(escapeControl(`${result.passed ? "PASS" : "FAIL"}  ${test.name}${where}`))
      for (const line of result.details) yield* Console.log(escapeControl(`      ${line}`))
      if (!result.passed) failed++
    }
    const n = cases.length
    const summary = `${n} ${n === 1 ? "test" : "tests"}: ${n - failed} passed, ${failed} failed`
    if (failed > 0) {
      yield* Console.log(summary)
      return yield* reportError(`${failed} of ${n} ${n === 1 ? "test" : "tests"} in ${testsFile} failed`, ExitCode.invalid)
    }
    yield* Console.log(summary)
  })
