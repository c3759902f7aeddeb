/**
 * The `csv` connector: an RFC 4180 source and sink (see docs/connectors/csv.md).
 *
 * @example
 * ```ts
 * import { Csv } from "dataflare/dsl"
 * const orders = Csv.source({ path: "orders.csv", columns: { id: "integer", amount: "number" }, required: ["id"] })
 * // SourceSpec<{ readonly id: number; readonly amount: number | null }>
 * ```
 * @since 0.1.0
 */
import type { Definition } from "../../Registry.ts"
import * as Spec from "../../Spec.ts"
import type { CsvConfigInput, CsvSourceConfigInput, Row, SinkRow } from "./CsvConfig.ts"
import { CsvSink } from "./CsvSink.ts"
import { CsvSource } from "./CsvSource.ts"

/** @since 0.1.0 */
export * as CsvConfig from "./CsvConfig.ts"
/** @since 0.1.0 */
export * as CsvFormat from "./CsvFormat.ts"

/**
 * The config Schema shared by the `csv` source and sink.
 *
 * @category schemas
 * @since 0.1.0
 */
export { CsvConfig as config } from "./CsvConfig.ts"

/**
 * The config Schema of the `csv` source (the shared one and the reading limits).
 *
 * @category schemas
 * @since 0.1.0
 */
export { CsvSourceConfig as sourceConfig } from "./CsvConfig.ts"

/**
 * The `csv` source definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const sourceDefinition = CsvSource

/**
 * The `csv` sink definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const sinkDefinition = CsvSink

/**
 * Both `csv` definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.1.0
 */
export const definitions: ReadonlyArray<Definition> = [CsvSource, CsvSink]

/**
 * A typed `csv` source spec for the DSL. The record type comes from `columns` and `required`
 * (see {@link Row}); the config is kept exactly as given, as YAML would write it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const source = <const C extends CsvSourceConfigInput>(config: C): Spec.SourceSpec<Row<C>> =>
  Spec.source<Row<C>>("csv", config)

/**
 * A typed `csv` sink spec for the DSL: with `columns`, it accepts records that have every listed
 * column; without, any object.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sink = <const C extends CsvConfigInput>(config: C): Spec.SinkSpec<SinkRow<C>> =>
  Spec.sink<SinkRow<C>>("csv", config)

/**
 * @since 0.1.0
 */
export type { FilePosition } from "./CsvSource.ts"
