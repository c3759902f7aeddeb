/**
 * Classification of PostgreSQL failures, done once at the connector edge: a driver error
 * (`pg`, `@effect/sql-pg`'s `SqlError`, a socket error) becomes a `ConnectorError` whose reason
 * says whether a retry can help. The SQLSTATE decides; message text is never read.
 *
 * | SQLSTATE | reason |
 * |---|---|
 * | `08xxx`, `57P01..03`, socket errors | `ConnectionError` |
 * | `40001`, `40P01`, `55P03`, `55006` (object in use, e.g. a busy slot), `53xxx` | `TransientError` |
 * | `57014` | `TimeoutError` |
 * | `23xxx`, `22xxx`, `42501` | `RejectedError` |
 * | `42P01`, `42703`, `3D000`, `28xxx`, other `42xxx` | `ConfigurationError` |
 *
 * @since 0.1.0
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

const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"])

const field = (u: unknown, key: string): unknown =>
  u !== null && typeof u === "object" && key in u ? (u as { readonly [k: string]: unknown })[key] : undefined

/**
 * The SQLSTATE (or socket error code) of a driver error, looking through `SqlError` reasons and
 * causes.
 *
 * @category getters
 * @since 0.1.0
 */
export const sqlState = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const code = field(current, "code")
    if (typeof code === "string" && code.length > 0) return code
    current = field(current, "reason") ?? field(current, "cause")
  }
  return undefined
}

const messageOf = (error: unknown): string => {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const cause = field(current, "cause")
    const reason = field(current, "reason")
    if (reason === undefined && (cause === undefined || typeof field(cause, "message") !== "string")) break
    current = reason ?? cause
  }
  const message = field(current, "message")
  return typeof message === "string" ? message : String(current)
}

/**
 * True when a driver error is a connection-level failure (the session is unusable).
 *
 * @category predicates
 * @since 0.1.0
 */
export const isConnectionLoss = (error: unknown): boolean => {
  if (error instanceof ConnectorError) return error.reason._tag === "ConnectionError"
  const tag = field(field(error, "reason"), "_tag")
  if (tag === "ConnectionError") return true
  const code = sqlState(error)
  return code !== undefined && (code.startsWith("08") || code.startsWith("57P") || SOCKET_CODES.has(code))
}

/**
 * The reason for a driver error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const reasonOf = (error: unknown): ConnectorErrorReason => {
  const code = sqlState(error)
  const detail = messageOf(error)
  const message = code !== undefined ? `${detail} (SQLSTATE ${code})` : detail
  const props = { message, cause: error }
  if (isConnectionLoss(error)) return new ConnectionError(props)
  if (code === undefined) {
    const tag = field(field(error, "reason"), "_tag")
    if (tag === "SerializationError" || tag === "DeadlockError" || tag === "LockTimeoutError") return new TransientError(props)
    if (tag === "StatementTimeoutError") return new TimeoutError(props)
    return new RejectedError(props)
  }
  if (code === "40001" || code === "40P01" || code === "55P03" || code === "55006" || code.startsWith("53")) {
    return new TransientError(props)
  }
  if (code === "57014") return new TimeoutError(props)
  if (code.startsWith("23") || code.startsWith("22") || code === "42501") return new RejectedError(props)
  if (code.startsWith("42") || code === "3D000" || code.startsWith("28") || code.startsWith("3F")) {
    return new ConfigurationError(props)
  }
  return new RejectedError(props)
}

/**
 * Wraps a driver error as a `ConnectorError` of `connector` for `operation`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const classify = (connector: string, operation: string) => (error: unknown): ConnectorError =>
  error instanceof ConnectorError ? error : new ConnectorError({ connector, operation, reason: reasonOf(error) })

/**
 * A configuration error (the config does not fit the real database).
 *
 * @category constructors
 * @since 0.1.0
 */
export const configurationError = (connector: string, operation: string, message: string): ConnectorError =>
  new ConnectorError({ connector, operation, reason: new ConfigurationError({ message }) })

/**
 * True when a driver error is worth retrying (connection loss, serialization failure, deadlock).
 *
 * @category predicates
 * @since 0.1.0
 */
export const isRetryable = (error: unknown): boolean =>
  error instanceof ConnectorError ? error.isRetryable : reasonOf(error).isRetryable
