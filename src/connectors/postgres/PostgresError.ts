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
import { ConnectorError, type ConnectorErrorReason } from "../../Errors.ts"
import * as Classify from "../kit/Classify.ts"

const { field } = Classify

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
  return code !== undefined && (code.startsWith("08") || code.startsWith("57P") || Classify.isSocketCode(code))
}

const TRANSIENT_STATES = new Set(["40001", "40P01", "55P03", "55006"])
const TRANSIENT_TAGS = new Set(["SerializationError", "DeadlockError", "LockTimeoutError"])

/** What classifies a driver error: its SQLSTATE, else the tag of `SqlError`'s reason. */
interface Facts {
  readonly error: unknown
  readonly code: string | undefined
  readonly tag: unknown
  readonly message: string
}

const reasons = Classify.make<Facts>({
  facts: (error) => {
    const code = sqlState(error)
    const detail = messageOf(error)
    return { error, code, tag: field(field(error, "reason"), "_tag"), message: code !== undefined ? `${detail} (SQLSTATE ${code})` : detail }
  },
  message: (f) => f.message,
  rules: [
    { kind: "connection", when: (f) => isConnectionLoss(f.error) },
    { kind: "transient", when: (f) => f.code === undefined && TRANSIENT_TAGS.has(String(f.tag)) },
    { kind: "timeout", when: (f) => f.code === undefined && f.tag === "StatementTimeoutError" },
    { kind: "rejected", when: (f) => f.code === undefined },
    { kind: "transient", when: (f) => f.code !== undefined && (TRANSIENT_STATES.has(f.code) || f.code.startsWith("53")) },
    { kind: "timeout", when: (f) => f.code === "57014" },
    { kind: "rejected", when: (f) => f.code !== undefined && (f.code.startsWith("23") || f.code.startsWith("22") || f.code === "42501") },
    {
      kind: "configuration",
      when: (f) => f.code !== undefined && (f.code.startsWith("42") || f.code === "3D000" || f.code.startsWith("28") || f.code.startsWith("3F"))
    }
  ],
  otherwise: "rejected"
})

/**
 * The reason for a driver error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const reasonOf = (error: unknown): ConnectorErrorReason => reasons.reasonOf(error)

/**
 * Wraps a driver error as a `ConnectorError` of `connector` for `operation`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const classify = (connector: string, operation: string): (error: unknown) => ConnectorError => reasons.classify(connector, operation)

/**
 * A configuration error (the config does not fit the real database).
 *
 * @category constructors
 * @since 0.1.0
 */
export const configurationError: (connector: string, operation: string, message: string) => ConnectorError = Classify.configurationError

/**
 * True when a driver error is worth retrying (connection loss, serialization failure, deadlock).
 *
 * @category predicates
 * @since 0.1.0
 */
export const isRetryable = (error: unknown): boolean =>
  error instanceof ConnectorError ? error.isRetryable : reasonOf(error).isRetryable
