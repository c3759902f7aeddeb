/**
 * Classification of MySQL/MariaDB failures, done once at the connector edge: a `mysql2` error (or
 * a socket error) becomes a `ConnectorError` whose reason says whether a retry can help. The
 * server's error number and SQLSTATE decide; message text is never read.
 *
 * | error | reason |
 * |---|---|
 * | socket errors, `PROTOCOL_CONNECTION_LOST`, SQLSTATE `08xxx`, 1040 (too many connections), 1927 / 2006 / 2013 (connection killed / gone / lost) | `ConnectionError` |
 * | 1213 (deadlock), 1205 (lock wait timeout), SQLSTATE `40001` | `TransientError` |
 * | 3024 / 1969 (statement time limit), connect timeout | `TimeoutError` |
 * | SQLSTATE `22xxx`, `23xxx`, 1292 / 1366 / 1406 / 1264 / 1048 (value refused) | `RejectedError` |
 * | 1045 (access denied), 1044, 1049 (unknown database), 1146 (no such table), 1054 (unknown column), other `42xxx` | `ConfigurationError` |
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

const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT"
])
const CONNECTION_ERRNO = new Set([1040, 1053, 1927, 2002, 2003, 2006, 2013])
const TRANSIENT_ERRNO = new Set([1205, 1213, 1614])
const TIMEOUT_ERRNO = new Set([1969, 3024])
const REJECTED_ERRNO = new Set([1048, 1062, 1264, 1292, 1366, 1406, 1452, 1451, 3140, 4025])
const CONFIG_ERRNO = new Set([1044, 1045, 1049, 1054, 1146, 1142, 1143, 1227, 1698])

const field = (u: unknown, key: string): unknown =>
  u !== null && typeof u === "object" && key in u ? (u as { readonly [k: string]: unknown })[key] : undefined

/**
 * The parts of a driver error that classify it: the server's error number, SQLSTATE and the
 * driver's code (`ER_DUP_ENTRY`, `ECONNREFUSED`, ...).
 *
 * @category getters
 * @since 0.4.0
 */
export const errorCodes = (error: unknown): { readonly errno?: number; readonly sqlState?: string; readonly code?: string } => {
  const errno = field(error, "errno")
  const sqlState = field(error, "sqlState")
  const code = field(error, "code")
  return {
    // (socket errors carry the system's negative errno: not a server error number)
    ...(typeof errno === "number" && errno > 0 ? { errno } : {}),
    ...(typeof sqlState === "string" && sqlState.length > 0 ? { sqlState } : {}),
    ...(typeof code === "string" ? { code } : {})
  }
}

/**
 * True when a driver error means the connection is unusable.
 *
 * @category predicates
 * @since 0.4.0
 */
export const isConnectionLoss = (error: unknown): boolean => {
  if (error instanceof ConnectorError) return error.reason._tag === "ConnectionError"
  const { code, errno, sqlState } = errorCodes(error)
  return (code !== undefined && SOCKET_CODES.has(code)) || (errno !== undefined && CONNECTION_ERRNO.has(errno)) ||
    sqlState?.startsWith("08") === true || field(error, "fatal") === true
}

/**
 * The reason of a driver error.
 *
 * @category constructors
 * @since 0.4.0
 */
export const reasonOf = (error: unknown): ConnectorErrorReason => {
  const { code, errno, sqlState } = errorCodes(error)
  const raw = field(error, "message")
  const detail = typeof raw === "string" && raw.length > 0 ? raw : code ?? String(error)
  const tags = [errno !== undefined ? `error ${errno}` : undefined, sqlState !== undefined ? `SQLSTATE ${sqlState}` : undefined]
    .filter((t) => t !== undefined)
  const message = tags.length > 0 ? `${detail} (${tags.join(", ")})` : detail
  const props = { message, cause: error }
  if (code === "ETIMEDOUT" && errno === undefined) return new TimeoutError({ message: `connection timed out: ${detail}`, cause: error })
  if ((errno !== undefined && CONFIG_ERRNO.has(errno)) || sqlState === "28000") return new ConfigurationError(props)
  if (isConnectionLoss(error)) return new ConnectionError(props)
  if ((errno !== undefined && TRANSIENT_ERRNO.has(errno)) || sqlState === "40001") return new TransientError(props)
  if (errno !== undefined && TIMEOUT_ERRNO.has(errno)) return new TimeoutError(props)
  if (
    (errno !== undefined && REJECTED_ERRNO.has(errno)) || sqlState?.startsWith("22") === true || sqlState?.startsWith("23") === true
  ) return new RejectedError(props)
  if (sqlState?.startsWith("42") === true) return new ConfigurationError(props)
  return new RejectedError(props)
}

/**
 * Wraps a driver error as a `ConnectorError` of `connector` for `operation`.
 *
 * @category constructors
 * @since 0.4.0
 */
export const classify = (connector: string, operation: string) => (error: unknown): ConnectorError =>
  error instanceof ConnectorError ? error : new ConnectorError({ connector, operation, reason: reasonOf(error) })

/**
 * A configuration error (the config does not fit the real database).
 *
 * @category constructors
 * @since 0.4.0
 */
export const configurationError = (connector: string, operation: string, message: string): ConnectorError =>
  new ConnectorError({ connector, operation, reason: new ConfigurationError({ message }) })

/**
 * True when a driver error is a value or constraint the server refused for one row (a retry
 * cannot help; the row can be set aside).
 *
 * @category predicates
 * @since 0.4.0
 */
export const isRowRejection = (error: unknown): boolean => {
  if (error instanceof ConnectorError) return false
  const { errno, sqlState } = errorCodes(error)
  return (errno !== undefined && REJECTED_ERRNO.has(errno)) || sqlState?.startsWith("22") === true || sqlState?.startsWith("23") === true
}
