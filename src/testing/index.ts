/**
 * `dataflare/testing`: in-memory connectors for whole-workflow tests ({@link Testing}), the
 * checkpoint-restore equivalence property ({@link RestoreEquivalence}) and the state backend
 * conformance suite (`backendSuite`, which registers vitest tests).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as RestoreEquivalence from "./RestoreEquivalence.ts"
/** @since 0.1.0 */
export * as Testing from "./Testing.ts"
/** @since 0.1.0 */
export { backendSuite } from "./backendSuite.ts"
/** @since 0.1.0 */
export { type SourceSuiteOptions, type SourceUnderTest, sourceSuite } from "./sourceSuite.ts"
