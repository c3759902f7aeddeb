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
import { ConnectorError, type ConnectorErrorReason } from "../../Errors.ts"
import * as Classify from "../kit/Classify.ts"

const { field } = Classify

const PROTOCOL_CODES = new Set(["PROTOCOL_CONNECTION_LOST", "PROTOCOL_SEQUENCE_TIMEOUT"])
const CONNECTION_ERRNO = new Set([1040, 1053, 1927, 2002, 2003, 2006, 2013])
const TRANSIENT_ERRNO = new Set([1205, 1213, 1614])
const TIMEOUT_ERRNO = new Set([1969, 3024])
const REJECTED_ERRNO = new Set([1048, 1062, 1264, 1292, 1366, 1406, 1452, 1451, 3140, 4025])
const CONFIG_ERRNO = new Set([1044, 1045, 1049, 1054, 1146, 1142, 1143, 1227, 1698])

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
  return (code !== undefined && (Classify.isSocketCode(code) || PROTOCOL_CODES.has(code))) || (errno !== undefined && CONNECTION_ERRNO.has(errno)) ||
    sqlState?.startsWith("08") === true || field(error, "fatal") === true
}

/** What classifies a driver error: the server's error number, SQLSTATE and the driver's code. */
interface Facts {
  readonly error: unknown
  readonly errno?: number
  readonly sqlState?: string
  readonly code?: string
  readonly detail: string
}

const has = (set: ReadonlySet<number>, errno: number | undefined): boolean => errno !== undefined && set.has(errno)

const reasons = Classify.make<Facts>({
  facts: (error) => {
    const codes = errorCodes(error)
    const raw = field(error, "message")
    return { error, ...codes, detail: typeof raw === "string" && raw.length > 0 ? raw : codes.code ?? String(error) }
  },
  message: (f) => {
    const tags = [f.errno !== undefined ? `error ${f.errno}` : undefined, f.sqlState !== undefined ? `SQLSTATE ${f.sqlState}` : undefined]
      .filter((t) => t !== undefined)
    return tags.length > 0 ? `${f.detail} (${tags.join(", ")})` : f.detail
  },
  rules: [
    { kind: "timeout", when: (f) => f.code === "ETIMEDOUT" && f.errno === undefined, message: (f) => `connection timed out: ${f.detail}` },
    { kind: "configuration", when: (f) => has(CONFIG_ERRNO, f.errno) || f.sqlState === "28000" },
    { kind: "connection", when: (f) => isConnectionLoss(f.error) },
    { kind: "transient", when: (f) => has(TRANSIENT_ERRNO, f.errno) || f.sqlState === "40001" },
    { kind: "timeout", when: (f) => has(TIMEOUT_ERRNO, f.errno) },
    { kind: "rejected", when: (f) => isRowRejection(f.error) },
    { kind: "configuration", when: (f) => f.sqlState?.startsWith("42") === true }
  ],
  otherwise: "rejected"
})

/**
 * The reason of a driver error.
 *
 * @category constructors
 * @since 0.4.0
 */
export const reasonOf = (error: unknown): ConnectorErrorReason => reasons.reasonOf(error)

/**
 * Wraps a driver error as a `ConnectorError` of `connector` for `operation`.
 *
 * @category constructors
 * @since 0.4.0
 */
export const classify = (connector: string, operation: string): (error: unknown) => ConnectorError => reasons.classify(connector, operation)

/**
 * A configuration error (the config does not fit the real database).
 *
 * @category constructors
 * @since 0.4.0
 */
export const configurationError: (connector: string, operation: string, message: string) => ConnectorError = Classify.configurationError

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
