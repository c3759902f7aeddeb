/**
 * `dataflare/testing`, free of any test framework (it works under vitest, Jest, `node:test`):
 * in-memory connectors for whole-workflow tests ({@link Testing}), the checkpoint-restore
 * equivalence property ({@link RestoreEquivalence}, on fast-check), and the conformance suites of
 * sources, sinks and state backends as plain cases ({@link SourceSuite}, {@link SinkSuite}, {@link BackendSuite},
 * {@link SuiteCase}). `dataflare/vitest` registers those suites as vitest tests.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as BackendSuite from "./BackendSuite.ts"
/** @since 0.1.0 */
export * as RestoreEquivalence from "./RestoreEquivalence.ts"
/** @since 0.4.0 */
export * as SinkSuite from "./SinkSuite.ts"
/** @since 0.1.0 */
export * as SourceSuite from "./SourceSuite.ts"
/** @since 0.1.0 */
export * as SuiteCase from "./SuiteCase.ts"
/** @since 0.1.0 */
export * as Testing from "./Testing.ts"
