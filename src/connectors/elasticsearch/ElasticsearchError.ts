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
import type { ConnectorError, ConnectorErrorReason } from "../../Errors.ts"
import * as Classify from "../kit/Classify.ts"

const { field } = Classify

/**
 * Removes the user information of every URL in a text (`https://user:secret@host` →
 * `https://***@host`).
 *
 * @category formatting
 * @since 0.4.0
 */
export const redactUrls: (text: string) => string = Classify.redactCredentials

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

/** What classifies a client error: its class name, the HTTP status and Elasticsearch's error type. */
interface Facts {
  readonly name: unknown
  readonly status: number | undefined
  readonly type: string | undefined
  readonly message: string
}

const reasons = Classify.make<Facts>({
  facts: (error) => {
    const raw = field(error, "message")
    const status = statusOf(error)
    const detail = redactUrls(typeof raw === "string" ? raw.split("\n")[0] : String(error))
    return { name: field(error, "name"), status, type: errorType(error), message: status !== undefined ? `${detail} (HTTP ${status})` : detail }
  },
  message: (f) => f.message,
  rules: [
    { kind: "connection", when: (f) => f.name === "ConnectionError" || f.name === "NoLivingConnectionsError" },
    { kind: "timeout", when: (f) => f.name === "TimeoutError" || f.name === "RequestAbortedError" },
    {
      kind: "configuration",
      when: (f) => f.name === "ProductNotSupportedError",
      message: (f) => `${f.message}: the server at 'node' is not Elasticsearch`
    },
    { kind: "configuration", when: (f) => f.name === "ConfigurationError" },
    {
      kind: "transient",
      when: (f) => f.name === "ResponseError" && (f.status === 429 || (f.status !== undefined && f.status >= 500) || f.type === "es_rejected_execution_exception")
    },
    { kind: "configuration", when: (f) => f.name === "ResponseError" && (f.status === 401 || f.status === 403 || f.status === 404) }
  ],
  otherwise: "rejected",
  // the client's errors may hold the node URL and the request
  cause: false
})

/**
 * The reason for a client error.
 *
 * @category constructors
 * @since 0.4.0
 */
export const reasonOf = (error: unknown): ConnectorErrorReason => reasons.reasonOf(error)

/**
 * Wraps a client error as a `ConnectorError` of the `elasticsearch` connector for `operation`.
 *
 * @category constructors
 * @since 0.4.0
 */
export const classify = (operation: string): (error: unknown) => ConnectorError => reasons.classify("elasticsearch", operation)
