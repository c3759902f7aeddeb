/**
 * The errors of DataFlare, all tagged and carrying the context a person needs to act on them.
 *
 * - {@link DefinitionError}: a workflow definition is invalid (YAML or DSL); it never starts a
 *   run, and says *where* first (`workflow.yaml:14:7 destinations.out.config.path: ...`).
 * - {@link ConnectorError}: a connector operation failed at run time; its `reason` says whether a
 *   retry can help (`isRetryable`), so retry policies never read message text.
 * - {@link RecordError}: one record could not be decoded or processed; it names the record's
 *   place (file, line, column, field) so it can be fixed or routed to a dead-letter output.
 * - {@link NodeError}: a task failed; it names the workflow node and wraps the cause. This is
 *   what a failed run reports.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { WithPlace } from "./internal/recordPlace.ts"

/**
 * Where something is in a definition file or an input file. Every field is optional: a DSL
 * workflow has no file, a JSON record has no column.
 *
 * @category models
 * @since 0.1.0
 */
export const Location = Schema.Struct({
  file: Schema.optional(Schema.String),
  line: Schema.optional(Schema.Number),
  column: Schema.optional(Schema.Number)
})

/**
 * @category models
 * @since 0.1.0
 */
export type Location = typeof Location.Type

/**
 * Renders a location as `file:line:column` (missing parts left out), or `""`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatLocation = (loc: Location | undefined): string => {
  if (loc === undefined) return ""
  const parts: Array<string> = []
  if (loc.file !== undefined) parts.push(loc.file)
  if (loc.line !== undefined) parts.push(String(loc.line))
  if (loc.column !== undefined) parts.push(String(loc.column))
  return parts.join(":")
}

const hex = (code: number, width: number): string => code.toString(16).toUpperCase().padStart(width, "0")

const isControl = (c: number): boolean => (c < 32 && c !== 9) || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029

/**
 * Escapes the control characters of a message (`\n`, `\r`, `\x1B`, `\u2028`, ...; a tab stays),
 * so that text taken from an input — a header, a YAML key, a value quoted in an error — cannot
 * recolour a terminal, move its cursor or forge log lines. Applied by every error's `message`
 * and by {@link formatIssue}; text without control characters is returned as it is.
 *
 * @category formatting
 * @since 0.1.0
 */
export const escapeControl = (text: string): string => {
  let i = 0
  while (i < text.length && !isControl(text.charCodeAt(i))) i++
  if (i === text.length) return text
  let out = text.slice(0, i)
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (!isControl(c)) out += text[i]
    else if (c === 10) out += "\\n"
    else if (c === 13) out += "\\r"
    else out += c > 0xff ? `\\u${hex(c, 4)}` : `\\x${hex(c, 2)}`
  }
  return out
}

/**
 * A place in a workflow definition: the key path as the workflow writes it
 * (`transformations.large.config.condition`, or `nodes.large.config.condition` for a graph built
 * in code) and, for a workflow loaded from a file, where it is (`orders.yaml:14:7`).
 *
 * @category models
 * @since 0.1.0
 */
export const DefinitionSite = Schema.Struct({
  path: Schema.String,
  location: Schema.optional(Location)
})

/**
 * @category models
 * @since 0.1.0
 */
export type DefinitionSite = typeof DefinitionSite.Type

/**
 * Where a record is in the stream a node read: its index in its batch (0-based) and the batch's
 * size, and, when the batch came from a source, the source node and the source position after
 * the batch's last record (for a file: the byte offset and line after it).
 *
 * @category models
 * @since 0.1.0
 */
export const RecordPlace = Schema.Struct({
  index: Schema.Number,
  size: Schema.Number,
  source: Schema.optional(Schema.String),
  position: Schema.optional(Schema.Unknown)
})

/**
 * @category models
 * @since 0.1.0
 */
export type RecordPlace = typeof RecordPlace.Type

/**
 * One problem found in a workflow definition.
 *
 * @category models
 * @since 0.1.0
 */
export const DefinitionIssue = Schema.Struct({
  /** Dotted path of the key at fault, e.g. `destinations.out.config.path`. */
  path: Schema.String,
  message: Schema.String,
  location: Schema.optional(Location)
})

/**
 * @category models
 * @since 0.1.0
 */
export type DefinitionIssue = typeof DefinitionIssue.Type

/** The longest message {@link formatIssue} prints whole (characters). */
const MAX_MESSAGE = 500

/**
 * Renders one issue as `file:line:col path: message` (control characters escaped, a message over
 * 500 characters cut).
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatIssue = (issue: DefinitionIssue): string => {
  const where = formatLocation(issue.location)
  const head = [where, issue.path].filter((s) => s.length > 0).join(" ")
  // a message quoting a value (an alias-expanded list, a huge string) is cut to a readable length
  const message = issue.message.length > MAX_MESSAGE
    ? `${issue.message.slice(0, MAX_MESSAGE)}… (${issue.message.length - MAX_MESSAGE} more characters)`
    : issue.message
  return escapeControl(head.length > 0 ? `${head}: ${message}` : message)
}

/**
 * An invalid workflow definition. Holds every issue found (not just the first), each with its
 * location. Definition errors are found before anything runs.
 *
 * @category errors
 * @since 0.1.0
 */
export class DefinitionError extends Schema.TaggedError<DefinitionError>()("DefinitionError", {
  issues: Schema.Array(DefinitionIssue)
}) {
  override get message(): string {
    return this.issues.map(formatIssue).join("\n")
  }
}

/** The fields every connector error reason has: what happened, and the underlying error if any. */
const reasonFields = {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
} as const

/**
 * The connection could not be made or was lost (refused, reset, DNS, TLS). Retryable.
 *
 * @category reasons
 * @since 0.1.0
 */
export class ConnectionError extends Schema.TaggedError<ConnectionError>()("ConnectionError", reasonFields) {
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return true
  }
}

/**
 * The operation did not finish in time. Retryable.
 *
 * @category reasons
 * @since 0.1.0
 */
export class TimeoutError extends Schema.TaggedError<TimeoutError>()("TimeoutError", reasonFields) {
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return true
  }
}

/**
 * The server is overloaded, throttling, or reported a transient conflict (serialization failure,
 * deadlock). Retryable with backoff.
 *
 * @category reasons
 * @since 0.1.0
 */
export class TransientError extends Schema.TaggedError<TransientError>()("TransientError", reasonFields) {
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return true
  }
}

/**
 * The server or file refused the data or the request for good (constraint violation, mapping
 * error, permission denied, malformed input). Not retryable.
 *
 * @category reasons
 * @since 0.1.0
 */
export class RejectedError extends Schema.TaggedError<RejectedError>()("RejectedError", reasonFields) {
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * The connector's configuration does not work against the real system (missing table, unknown
 * index, bad credentials). Not retryable.
 *
 * @category reasons
 * @since 0.1.0
 */
export class ConfigurationError extends Schema.TaggedError<ConfigurationError>()("ConfigurationError", reasonFields) {
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * The reasons a connector operation can fail.
 *
 * @category reasons
 * @since 0.1.0
 */
export const ConnectorErrorReason = Schema.Union([
  ConnectionError,
  TimeoutError,
  TransientError,
  RejectedError,
  ConfigurationError
])

/**
 * @category reasons
 * @since 0.1.0
 */
export type ConnectorErrorReason = typeof ConnectorErrorReason.Type

/**
 * A connector operation failed. `reason.isRetryable` says whether retrying can help.
 *
 * @example
 * ```ts
 * new ConnectorError({
 *   connector: "csv", operation: "open",
 *   reason: new ConfigurationError({ message: "no such file: in.csv" })
 * })
 * ```
 * @category errors
 * @since 0.1.0
 */
export class ConnectorError extends Schema.TaggedError<ConnectorError>()("ConnectorError", {
  connector: Schema.String,
  operation: Schema.String,
  reason: ConnectorErrorReason
}) {
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
  override get message(): string {
    return escapeControl(`${this.connector} ${this.operation}: ${this.reason.message}`)
  }
}

/**
 * One record could not be decoded or processed. `location` names the place in the input (file,
 * line, column), `field` the field at fault, and `record` the record, so it can be found again or
 * routed to a dead-letter output. An error of the workflow's own code on a record (an expression
 * that fails at run time) also names the expression's place in the workflow (`definition`) and
 * where the record was in the node's input (`place`).
 *
 * @category errors
 * @since 0.1.0
 */
export class RecordError extends Schema.TaggedError<RecordError>()("RecordError", {
  /** What is wrong with the record, without the location. */
  detail: Schema.String,
  location: Schema.optional(Location),
  field: Schema.optional(Schema.String),
  record: Schema.optional(Schema.Unknown),
  /** The place in the workflow definition that failed on the record (an expression). */
  definition: Schema.optional(DefinitionSite),
  /** Where the record was in the node's input. */
  place: Schema.optional(RecordPlace)
}) {
  /** A copy carrying the record's place in its input (kept when it has one already). */
  [WithPlace](place: RecordPlace): RecordError {
    if (this.place !== undefined) return this
    return new RecordError({ ...this.fields(), place })
  }
  /** The fields of this error, for a copy with one changed. */
  fields(): ConstructorParameters<typeof RecordError>[0] {
    return {
      detail: this.detail,
      ...(this.location !== undefined ? { location: this.location } : {}),
      ...(this.field !== undefined ? { field: this.field } : {}),
      ...(this.record !== undefined ? { record: this.record } : {}),
      ...(this.definition !== undefined ? { definition: this.definition } : {}),
      ...(this.place !== undefined ? { place: this.place } : {})
    }
  }
  override get message(): string {
    const site = this.definition === undefined
      ? formatLocation(this.location)
      : [formatLocation(this.definition.location), this.definition.path].filter((s) => s.length > 0).join(" ")
    const field = this.field !== undefined ? `field '${this.field}': ` : ""
    const place = this.place === undefined ? "" : `; ${describePlace(this.place)}`
    const record = this.definition !== undefined && this.record !== undefined ? `: ${preview(this.record)}` : ""
    return escapeControl(`${site.length > 0 ? `${site}: ` : ""}${field}${this.detail}${place}${record}`)
  }
}

const describePlace = (place: RecordPlace): string => {
  const from = place.source !== undefined ? ` from '${place.source}'` : ""
  const upTo = place.position !== undefined ? ` (read up to position ${preview(place.position)})` : ""
  return `record ${place.index + 1} of ${place.size} of a batch${from}${upTo}`
}

/** A value as one line of JSON, cut after 200 characters. */
const preview = (value: unknown): string => {
  let text: string
  try {
    text = JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value)
  } catch {
    text = String(value)
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

/**
 * A task failed: names the workflow node and wraps what went wrong. A failed run fails with this.
 *
 * @category errors
 * @since 0.1.0
 */
export class NodeError extends Schema.TaggedError<NodeError>()("NodeError", {
  node: Schema.String,
  cause: Schema.Defect()
}) {
  override get message(): string {
    const cause = this.cause
    const text =
      cause !== null && typeof cause === "object" && "message" in cause && typeof cause.message === "string"
        ? cause.message
        : String(cause)
    return escapeControl(`node '${this.node}' failed: ${text}`)
  }
}

/**
 * A checkpoint holds operator state written by another version of the operator, and no
 * migration turns it into the current one. The state is never misread: the run is refused.
 *
 * @category errors
 * @since 0.1.0
 */
export class StateVersionError extends Schema.TaggedError<StateVersionError>()("StateVersionError", {
  node: Schema.String,
  found: Schema.Number,
  expected: Schema.Number,
  detail: Schema.String
}) {
  override get message(): string {
    // same version: the state has the operator's format but not its shape (the node's config
    // changed since the checkpoint, or the state was damaged); no migration can help
    return this.found === this.expected
      ? `node '${this.node}': checkpoint state (version ${this.found}) does not match what the operator keeps: ${this.detail}; was the node's config changed since the checkpoint? run with --from-scratch to start over`
      : `node '${this.node}': checkpoint state has version ${this.found}, the operator expects ${this.expected}: ${this.detail}; add a migration or run with --from-scratch`
  }
}
