/**
 * Codecs separate from transports: `json`, `ndjson`, `csv`, `bytes` and `string`, each a small
 * {@link Codec} (encode a record or a batch to text/bytes; decode a payload to a record or a
 * typed {@link DecodeError} naming the message id or position). File, standard-output and broker
 * connectors take them by name from their config (`codec: json`, see {@link CodecName} and
 * {@link byName}).
 *
 * @example
 * ```ts
 * import { Codecs } from "dataflare"
 *
 * const lines = Codecs.ndjson().encodeBatch([{ a: 1 }, { a: 2 }], 0, 2) // '{"a":1}\n{"a":2}\n'
 * ```
 * @since 0.4.0
 */
import { Schema } from "effect"
import type { Codec as CodecType } from "./Codec.ts"
import { csv, type CsvCodecOptions } from "./csv.ts"
import { json, type JsonCodecOptions, ndjson } from "./json.ts"
import { bytes, string } from "./raw.ts"

export {
  /**
   * A codec (see the module doc of `Codec.ts`).
   *
   * @category models
   * @since 0.4.0
   */
  type Codec,
  /**
   * A payload that does not decode.
   *
   * @category errors
   * @since 0.4.0
   */
  DecodeError,
  /**
   * A record that does not encode.
   *
   * @category errors
   * @since 0.4.0
   */
  EncodeError,
  /**
   * Whether a decode result is a {@link DecodeError}.
   *
   * @category guards
   * @since 0.4.0
   */
  isDecodeError,
  /**
   * Whether an encode result is an {@link EncodeError}.
   *
   * @category guards
   * @since 0.4.0
   */
  isEncodeError,
  /**
   * Where a payload came from (message id, place in a file).
   *
   * @category models
   * @since 0.4.0
   */
  type Origin,
  /**
   * Text or bytes.
   *
   * @category models
   * @since 0.4.0
   */
  type Payload,
  /**
   * A payload as bytes.
   *
   * @category payloads
   * @since 0.4.0
   */
  toBytes,
  /**
   * A payload as text (`undefined` when not UTF-8).
   *
   * @category payloads
   * @since 0.4.0
   */
  toText
} from "./Codec.ts"
export {
  /**
   * The `csv` codec.
   *
   * @category constructors
   * @since 0.4.0
   */
  csv,
  /**
   * The `csv` codec with its columns and header.
   *
   * @category models
   * @since 0.4.0
   */
  type CsvCodec,
  /**
   * Options of the `csv` codec.
   *
   * @category models
   * @since 0.4.0
   */
  type CsvCodecOptions
} from "./csv.ts"
export {
  /**
   * Records as NDJSON lines, or the error of the first that cannot be written.
   *
   * @category formatting
   * @since 0.4.0
   */
  formatLines,
  /**
   * The `json` codec.
   *
   * @category constructors
   * @since 0.4.0
   */
  json,
  /**
   * How JSON is read.
   *
   * @category models
   * @since 0.4.0
   */
  type JsonCodecOptions,
  /**
   * One value's exact JSON text (throws on a cycle).
   *
   * @category formatting
   * @since 0.4.0
   */
  jsonText,
  /**
   * The `ndjson` codec.
   *
   * @category constructors
   * @since 0.4.0
   */
  ndjson
} from "./json.ts"
export {
  /**
   * The `bytes` codec.
   *
   * @category constructors
   * @since 0.4.0
   */
  bytes,
  /**
   * The `string` codec.
   *
   * @category constructors
   * @since 0.4.0
   */
  string
} from "./raw.ts"

/**
 * The codec names a config may give (`codec: json`): one Schema piece for every connector.
 *
 * @category schemas
 * @since 0.4.0
 */
export const CodecName = Schema.Literals(["json", "ndjson", "csv", "bytes", "string"])

/**
 * @category schemas
 * @since 0.4.0
 */
export type CodecName = typeof CodecName.Type

/**
 * Options of {@link byName}: the JSON options of `json` / `ndjson`, the CSV options of `csv`.
 *
 * @category models
 * @since 0.4.0
 */
export type CodecOptions = JsonCodecOptions & CsvCodecOptions

/**
 * The codec a config names.
 *
 * @category constructors
 * @since 0.4.0
 */
export const byName = (name: CodecName, options?: CodecOptions): CodecType<unknown> => {
  switch (name) {
    case "json":
      return json(options)
    case "ndjson":
      return ndjson(options)
    case "csv":
      return csv(options)
    case "bytes":
      return bytes()
    case "string":
      return string()
  }
}
