/**
 * Classification of MongoDB driver failures, done once at the connector edge: a driver error
 * becomes a `ConnectorError` whose reason says whether a retry can help, and a write error of
 * one operation of a bulk write becomes that item's outcome. Error classes, labels and server
 * codes decide; message text is never read.
 *
 * | driver error | reason |
 * |---|---|
 * | `MongoNetworkError`, `MongoServerSelectionError`, `MongoTopologyClosedError` | `ConnectionError` |
 * | `MongoNetworkTimeoutError`, `MongoOperationTimeoutError`, code 50 / 262 | `TimeoutError` |
 * | label `RetryableWriteError` / `TransientTransactionError`, a transient code (primary stepped down, shutting down, write conflict, write concern timeout, ...) | `TransientError` |
 * | code 13, 18, 8000, `MongoParseError`, `MongoInvalidArgumentError`, `MongoAPIError` | `ConfigurationError` |
 * | other server errors (duplicate key 11000, validation 121, ...) | `RejectedError` |
 *
 * Messages never hold the connection URL's credentials.
 *
 * @since 0.4.0
 */
import {
  ConfigurationError,
  ConnectionError,
  ConnectorError,
  type ConnectorErrorReason,
  RejectedError,
  TimeoutError,
  TransientError
} from "../../Errors.ts"

const field = (u: unknown, key: string): unknown =>
  u !== null && typeof u === "object" && key in u ? (u as { readonly [k: string]: unknown })[key] : undefined

/**
 * Server error codes after which the same write may succeed: the node is not (or no longer)
 * primary, shutting down or unreachable, a write conflict, a write concern not satisfied in time.
 *
 * @category constants
 * @since 0.4.0
 */
export const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  6, 7, 64, 89, 91, 112, 134, 189, 9001, 10107, 11600, 11602, 13435, 13436, 16500
])

const CONNECTION_NAMES = new Set(["MongoNetworkError", "MongoServerSelectionError", "MongoTopologyClosedError", "MongoServerClosedError"])
const TIMEOUT_NAMES = new Set(["MongoNetworkTimeoutError", "MongoOperationTimeoutError", "MongoWaitQueueTimeoutError"])
const CONFIGURATION_NAMES = new Set(["MongoParseError", "MongoInvalidArgumentError", "MongoAPIError", "MongoMissingCredentialsError"])

/**
 * Whether a driver error carries an error label (`RetryableWriteError`, ...).
 *
 * @category predicates
 * @since 0.4.0
 */
export const hasLabel = (error: unknown, label: string): boolean => {
  const has = field(error, "hasErrorLabel")
  if (typeof has === "function") return (has as (l: string) => boolean).call(error, label) === true
  const labels = field(error, "errorLabels")
  return Array.isArray(labels) && labels.includes(label)
}

/**
 * Removes the user information of a `mongodb://` URL in a text.
 *
 * @category formatting
 * @since 0.4.0
 */
export const redactUrls = (text: string): string => text.replace(/(mongodb(?:\+srv)?:\/\/)[^/@\s]+@/giu, "$1***@")

/**
 * The reason for a driver error.
 *
 * @category constructors
 * @since 0.4.0
 */
export const reasonOf = (error: unknown): ConnectorErrorReason => {
  const name = String(field(error, "name") ?? "")
  const code = field(error, "code")
  const raw = field(error, "message")
  const detail = redactUrls(typeof raw === "string" ? raw : String(error))
  const message = typeof code === "number" ? `${detail} (code ${code})` : detail
  if (CONNECTION_NAMES.has(name)) return new ConnectionError({ message })
  if (TIMEOUT_NAMES.has(name) || code === 50 || code === 262) return new TimeoutError({ message })
  if (hasLabel(error, "RetryableWriteError") || hasLabel(error, "TransientTransactionError") || hasLabel(error, "ResetPool")) {
    return new TransientError({ message })
  }
  if (typeof code === "number" && TRANSIENT_CODES.has(code)) return new TransientError({ message })
  if (CONFIGURATION_NAMES.has(name) || code === 13 || code === 18 || code === 8000) return new ConfigurationError({ message })
  return new RejectedError({ message })
}

/**
 * Wraps a driver error as a `ConnectorError` of the `mongodb` connector for `operation`.
 *
 * @category constructors
 * @since 0.4.0
 */
export const classify = (operation: string) => (error: unknown): ConnectorError =>
  error instanceof ConnectorError ? error : new ConnectorError({ connector: "mongodb", operation, reason: reasonOf(error) })

/**
 * One write error of a bulk write (`{ index, code, errmsg }`): retry the operation (a transient
 * code) or reject it for good.
 *
 * @category predicates
 * @since 0.4.0
 */
export const isTransientWriteError = (code: number): boolean => TRANSIENT_CODES.has(code) || code === 50 || code === 262
