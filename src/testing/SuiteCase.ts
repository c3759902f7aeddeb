/**
 * One test of a conformance suite ({@link SourceSuite}, {@link BackendSuite}), free of any test
 * framework: a name and an Effect that fails (or dies with an `AssertionError` from `node:assert`)
 * when the connector or backend under test breaks the contract.
 *
 * `dataflare/vitest` registers the cases as vitest tests; with any other runner, register them
 * yourself — with `node:test`:
 *
 * @example
 * ```ts
 * import { test } from "node:test"
 * import { BackendSuite, SuiteCase } from "dataflare/testing"
 * import { MyBackend } from "./MyBackend.js"
 *
 * for (const c of BackendSuite.cases(MyBackend.layer)) {
 *   test(c.name, { timeout: c.timeout }, () => SuiteCase.runPromise(c))
 * }
 * ```
 * @since 0.1.0
 */
import { Effect } from "effect"

/**
 * A named check: `run` succeeds when the contract holds. It needs nothing (each case acquires and
 * releases what it uses) and uses the live clock.
 *
 * @category models
 * @since 0.1.0
 */
export interface SuiteCase<E = unknown> {
  /** What the case checks, as a sentence ("the end stays the end"). */
  readonly name: string
  readonly run: Effect.Effect<void, E>
  /** How long the case may take, in milliseconds, when longer than a test runner's usual default. */
  readonly timeout?: number | undefined
}

/**
 * Runs a case as a Promise that rejects with its failure (for `node:test`, Jest, Mocha).
 *
 * @category running
 * @since 0.1.0
 */
export const runPromise = <E>(c: SuiteCase<E>): Promise<void> => Effect.runPromise(c.run)
