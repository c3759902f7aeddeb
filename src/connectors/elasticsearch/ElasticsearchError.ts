/**
 * Classification of Elasticsearch client failures, done once at the connector edge: an error of
 * `@elastic/elasticsearch` becomes a `ConnectorError` whose reason says whether a retry can help.
 * The error class and the HTTP status decide; message text is never read.
 *
 * | client error | reason |
 * |---|---|
 * | `ConnectionError`, `NoLivingConnectionsError` | `ConnectionError` |
 * | `TimeoutError`, `RequestAbortedError` | `TimeoutError` |
 * | `ResponseError` 429, 5xx, `es_rejected_execution_exception` | `TransientError` |
 * | `ResponseError` 401, 403, 404, `ProductNotSupportedError`, `ConfigurationError` | `ConfigurationError` |
 * | other `ResponseError` (4xx), `SerializationError` | `RejectedError` |
 *
 * Messages never hold credentials: a URL's user information is removed, and the client error is
 * not kept as the cause (its diagnostics hold the request).
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
 * Removes the user information of every URL in a text (`https://user:secret@host` →
 * `https://***@host`).
 *
 * @category formatting
 * @since 0.4.0
 */
export const redactUrls = (text: string): string => text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/giu, "$1***@")

/**
 * The HTTP status of a client error (`ResponseError`), or `undefined`.
 *
 * @category getters
 * @since 0.4.0
 */
export const statusOf = (error: unknown): number | undefined => {
  const status = field(error, "statusCode") ?? field(field(error, "meta"), "statusCode")
  return typeof status === "number" ? status : undefined
}

/** The `error.type` of a response body. */
const errorType = (error: unknown): string | undefined => {
  const type = field(field(field(error, "body"), "error"), "type")
  return typeof type === "string" ? type : undefined
}

/**
 * The reason for a client error.
 *
 * @category constructors
 * @since 0.4.0
 */
export const reasonOf = (error: unknown): ConnectorErrorReason => {
  const name = field(error, "name")
  const raw = field(error, "message")
  const status = statusOf(error)
  const type = errorType(error)
  const detail = redactUrls(typeof raw === "string" ? raw.split("\n")[0] : String(error))
  const message = status !== undefined ? `${detail} (HTTP ${status})` : detail
  switch (name) {
    case "ConnectionError":
    case "NoLivingConnectionsError":
      return new ConnectionError({ message })
    case "TimeoutError":
    case "RequestAbortedError":
      return new TimeoutError({ message })
    case "ProductNotSupportedError":
      return new ConfigurationError({ message: `${message}: the server at 'node' is not Elasticsearch` })
    case "ConfigurationError":
      return new ConfigurationError({ message })
    case "ResponseError":
      if (status === 429 || (status !== undefined && status >= 500) || type === "es_rejected_execution_exception") {
        return new TransientError({ message })
      }
      if (status === 401 || status === 403 || status === 404) return new ConfigurationError({ message })
      return new RejectedError({ message })
    default:
      return new RejectedError({ message })
  }
}

/**
 * Wraps a client error as a `ConnectorError` of the `elasticsearch` connector for `operation`.
 *
 * @category constructors
 * @since 0.4.0
 */
export const classify = (operation: string) => (error: unknown): ConnectorError =>
  error instanceof ConnectorError ? error : new ConnectorError({ connector: "elasticsearch", operation, reason: reasonOf(error) })
