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
import type { ConnectorError, ConnectorErrorReason } from "../../Errors.ts"
import * as Classify from "../kit/Classify.ts"

const { field } = Classify

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
export const redactUrls: (text: string) => string = Classify.redactCredentials

/** What classifies a driver error: its class name, server code and labels (the message with no credentials). */
interface Facts extends Classify.ErrorFacts {
  readonly className: string
  readonly message: string
}

const reasons = Classify.make<Facts>({
  facts: (error) => {
    const facts = Classify.errorFacts(error)
    const detail = redactUrls(facts.text)
    return { ...facts, className: String(facts.name ?? ""), message: typeof facts.code === "number" ? `${detail} (code ${facts.code})` : detail }
  },
  message: (f) => f.message,
  rules: [
    { kind: "connection", when: (f) => CONNECTION_NAMES.has(f.className) },
    { kind: "timeout", when: (f) => TIMEOUT_NAMES.has(f.className) || f.code === 50 || f.code === 262 },
    {
      kind: "transient",
      when: (f) =>
        hasLabel(f.error, "RetryableWriteError") || hasLabel(f.error, "TransientTransactionError") || hasLabel(f.error, "ResetPool") ||
        (typeof f.code === "number" && TRANSIENT_CODES.has(f.code))
    },
    { kind: "configuration", when: (f) => CONFIGURATION_NAMES.has(f.className) || f.code === 13 || f.code === 18 || f.code === 8000 }
  ],
  otherwise: "rejected",
  // the driver's errors may hold the connection string
  cause: false
})

/**
 * The reason for a driver error.
 *
 * @category constructors
 * @since 0.4.0
 */
export const reasonOf = (error: unknown): ConnectorErrorReason => reasons.reasonOf(error)

/**
 * Wraps a driver error as a `ConnectorError` of the `mongodb` connector for `operation`.
 *
 * @category constructors
 * @since 0.4.0
 */
export const classify = (operation: string): (error: unknown) => ConnectorError => reasons.classify("mongodb", operation)

/**
 * One write error of a bulk write (`{ index, code, errmsg }`): retry the operation (a transient
 * code) or reject it for good.
 *
 * @category predicates
 * @since 0.4.0
 */
export const isTransientWriteError = (code: number): boolean => TRANSIENT_CODES.has(code) || code === 50 || code === 262
