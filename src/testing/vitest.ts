/**
 * `dataflare/vitest`: the conformance suites of `dataflare/testing` registered as vitest tests
 * (with `@effect/vitest`, an optional peer dependency of DataFlare: install `vitest` and
 * `@effect/vitest` to use this entry). Everything else for tests — in-memory connectors, the
 * restore-equivalence property, the suites' cases for other runners — is in `dataflare/testing`,
 * which loads no test framework.
 *
 * @example
 * ```ts
 * import { FileBackend } from "dataflare"
 * import { backendSuite } from "dataflare/vitest"
 *
 * backendSuite("FileBackend", FileBackend.layer({ root: "/tmp/dataflare-suite" }))
 * ```
 * @since 0.1.0
 */
import { describe, it } from "@effect/vitest"
import type { Effect, Scope } from "effect"
import * as BackendSuite from "./BackendSuite.ts"
import * as SinkSuite from "./SinkSuite.ts"
import * as SourceSuite from "./SourceSuite.ts"
import type { SuiteCase } from "./SuiteCase.ts"

const register = <E>(name: string, cases: ReadonlyArray<SuiteCase<E>>): void => {
  describe(name, () => {
    for (const c of cases) it.live(c.name, () => c.run, c.timeout)
  })
}

/**
 * Registers the source conformance tests ({@link SourceSuite.cases}) under `describe(name)`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { sourceSuite } from "dataflare/vitest"
 * import { openMySource } from "./MySource.js"
 *
 * sourceSuite("my source", Effect.succeed({ open: openMySource() }))
 * ```
 * @category suites
 * @since 0.1.0
 */
export const sourceSuite = <E, E2>(
  name: string,
  makeSource: Effect.Effect<SourceSuite.SourceUnderTest<E>, E2, Scope.Scope>,
  options?: SourceSuite.Options
): void => register(name, SourceSuite.cases(makeSource, options))

/**
 * Registers the state backend conformance tests ({@link BackendSuite.cases}) under
 * `describe(name)`.
 *
 * @category suites
 * @since 0.1.0
 */
export const backendSuite = <E>(
  name: string,
  backend: BackendSuite.BackendUnderTest<E>,
  options?: BackendSuite.Options
): void => register(name, BackendSuite.cases(backend, options))

/**
 * Registers the sink conformance tests ({@link SinkSuite.cases}) under `describe(name)`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { sinkSuite } from "dataflare/vitest"
 * import { openMySink, readMyDestination } from "./MySink.js"
 *
 * sinkSuite("my sink", Effect.succeed({ open: openMySink(), read: readMyDestination, guarantee: "exactly-once" as const }))
 * ```
 * @category suites
 * @since 0.4.0
 */
export const sinkSuite = <E, E2>(
  name: string,
  makeSink: Effect.Effect<SinkSuite.SinkUnderTest<E>, E2, Scope.Scope>,
  options?: SinkSuite.Options
): void => register(name, SinkSuite.cases(makeSink, options))
