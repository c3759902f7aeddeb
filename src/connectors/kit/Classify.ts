/**
 * The error classifier every connector declares instead of writing: a driver, client or server
 * failure becomes a `ConnectorError` whose reason says what can help — a retry (`connection`,
 * `transient`, `timeout`), setting the record aside (`rejected`), or fixing the config
 * (`configuration`).
 *
 * A connector declares a {@link Table}: the *facts* it reads off an error (a SQLSTATE, a server
 * error number, a reply code, the error class's name — never free text, except to quote it), the
 * message the reason carries, and rules tried in order, the first that holds deciding the kind; if
 * none holds, `otherwise`. {@link make} turns the table into the connector's `reasonOf` and
 * `classify(connector, operation)` (which leaves a `ConnectorError` as it is). The pieces the
 * tables share are here too: {@link field} (a property of an unknown value), {@link SOCKET_CODES}
 * (Node's socket error codes: a lost or refused connection), {@link textOf} (an error's message)
 * and {@link redactCredentials} (no user or password of a URL in a message).
 *
 * @example
 * ```ts
 * const reasons = Classify.make({
 *   facts: (error: unknown) => ({ code: Classify.field(error, "code"), text: Classify.textOf(error) }),
 *   message: (f) => f.text,
 *   rules: [
 *     { kind: "connection", when: (f) => typeof f.code === "string" && Classify.SOCKET_CODES.has(f.code) },
 *     { kind: "configuration", when: (f) => f.code === 404 }
 *   ],
 *   otherwise: "rejected"
 * })
 * const classify = reasons.classify // (connector, operation) => (error) => ConnectorError
 * ```
 * @since 0.5.0
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

/**
 * What a classified failure is: retryable (`connection`, `transient`, `timeout`), refused for the
 * record (`rejected`), or a config that cannot work (`configuration`).
 *
 * @category models
 * @since 0.5.0
 */
export type Kind = "connection" | "transient" | "timeout" | "rejected" | "configuration"

/**
 * A rule of a {@link Table}: when `when` holds for the facts of an error, it is of `kind`, with
 * the rule's own `message` if it has one (e.g. "access refused: check the user and password").
 *
 * @category models
 * @since 0.5.0
 */
export interface Rule<F> {
  readonly kind: Kind
  readonly when: (facts: F) => boolean
  readonly message?: (facts: F) => string
}

/**
 * A connector's classification: the facts read off an error (with the call's context, e.g. the
 * broker's address for messages), the message of its reason, the rules in order and the kind when
 * none holds. `cause` (default true) keeps the error as the reason's cause; a connector whose
 * errors may carry credentials (in a URL of their message or options) sets it false.
 *
 * @category models
 * @since 0.5.0
 */
export interface Table<F, C = void> {
  readonly facts: (error: unknown, context: C) => F
  readonly message: (facts: F) => string
  readonly rules: ReadonlyArray<Rule<F>>
  readonly otherwise: Kind
  readonly cause?: boolean
}

/**
 * A connector's classifier (see {@link make}).
 *
 * @category models
 * @since 0.5.0
 */
export interface Classifier<F, C = void> {
  /** The facts of an error, as the table reads them. */
  readonly facts: (error: unknown, context: C) => F
  /** The kind of an error. */
  readonly kindOf: (error: unknown, context: C) => Kind
  /** The reason of an error (a `ConnectorError`'s own reason for one). */
  readonly reasonOf: (error: unknown, context: C) => ConnectorErrorReason
  /** Wraps an error as a `ConnectorError` of `connector` for `operation`; a `ConnectorError` stays as it is. */
  readonly classify: (connector: string, operation: string, context: C) => (error: unknown) => ConnectorError
}

const reasonOfKind = (kind: Kind, props: { readonly message: string; readonly cause?: unknown }): ConnectorErrorReason => {
  switch (kind) {
    case "connection":
      return new ConnectionError(props)
    case "transient":
      return new TransientError(props)
    case "timeout":
      return new TimeoutError(props)
    case "rejected":
      return new RejectedError(props)
    case "configuration":
      return new ConfigurationError(props)
  }
}

/**
 * The classifier of a table.
 *
 * @category constructors
 * @since 0.5.0
 */
export const make = <F, C = void>(table: Table<F, C>): Classifier<F, C> => {
  const keepCause = table.cause !== false
  const decide = (facts: F): Rule<F> | undefined => {
    for (const rule of table.rules) if (rule.when(facts)) return rule
    return undefined
  }
  const reasonOf = (error: unknown, context: C): ConnectorErrorReason => {
    if (error instanceof ConnectorError) return error.reason
    const facts = table.facts(error, context)
    const rule = decide(facts)
    const message = rule?.message?.(facts) ?? table.message(facts)
    return reasonOfKind(rule?.kind ?? table.otherwise, keepCause ? { message, cause: error } : { message })
  }
  return {
    facts: table.facts,
    kindOf: (error, context) => {
      if (error instanceof ConnectorError) return kindOfReason(error.reason)
      return decide(table.facts(error, context))?.kind ?? table.otherwise
    },
    reasonOf,
    classify: (connector, operation, context) => (error) =>
      error instanceof ConnectorError ? error : new ConnectorError({ connector, operation, reason: reasonOf(error, context) })
  }
}

/**
 * The kind of a reason.
 *
 * @category getters
 * @since 0.5.0
 */
export const kindOfReason = (reason: ConnectorErrorReason): Kind => {
  switch (reason._tag) {
    case "ConnectionError":
      return "connection"
    case "TransientError":
      return "transient"
    case "TimeoutError":
      return "timeout"
    case "ConfigurationError":
      return "configuration"
    default:
      return "rejected"
  }
}

/**
 * A property of an unknown value (`undefined` when it is not an object or has no such key).
 *
 * @category getters
 * @since 0.5.0
 */
export const field = (u: unknown, key: string): unknown =>
  u !== null && typeof u === "object" && key in u ? (u as { readonly [k: string]: unknown })[key] : undefined

/**
 * The facts most tables start from: the error, its class `name`, its `code` (a socket code, a
 * server or reply code) and its message as `text`.
 *
 * @category models
 * @since 0.5.0
 */
export interface ErrorFacts {
  readonly error: unknown
  readonly name: unknown
  readonly code: unknown
  readonly text: string
}

/**
 * The {@link ErrorFacts} of an error.
 *
 * @category getters
 * @since 0.5.0
 */
export const errorFacts = (error: unknown): ErrorFacts => ({ error, name: field(error, "name"), code: field(error, "code"), text: textOf(error) })

/**
 * Node's socket error codes: the connection was refused, lost or never made.
 *
 * @category constants
 * @since 0.5.0
 */
export const SOCKET_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN"
])

/**
 * True when `code` is one of {@link SOCKET_CODES}.
 *
 * @category predicates
 * @since 0.5.0
 */
export const isSocketCode = (code: unknown): boolean => typeof code === "string" && SOCKET_CODES.has(code)

/**
 * An error's message (its `message` when it is a string, else the error as a string).
 *
 * @category getters
 * @since 0.5.0
 */
export const textOf = (error: unknown): string => {
  const m = field(error, "message")
  return typeof m === "string" ? m : String(error)
}

/**
 * `text` without the user and password of any URL in it (`scheme://user:pass@host` becomes
 * `scheme://***@host`).
 *
 * @category getters
 * @since 0.5.0
 */
export const redactCredentials = (text: string): string => text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/giu, "$1***@")

/**
 * A configuration error of `connector` for `operation` (the config does not fit the real server).
 *
 * @category constructors
 * @since 0.5.0
 */
export const configurationError = (connector: string, operation: string, message: string): ConnectorError =>
  new ConnectorError({ connector, operation, reason: new ConfigurationError({ message }) })
