/**
 * The kit's error classifier: a table's rules in order, the first that holds deciding the kind
 * (`otherwise` when none does), a rule's own message, the cause kept or not, a `ConnectorError`
 * left as it is — and the connectors' tables declared on it, each error shape to the reason the
 * connector gave it before the tables (SQLSTATEs, server error numbers, reply codes, socket codes,
 * client class names), credentials never in a message.
 */
import { assert, describe, it } from "@effect/vitest"
import { classify as esClassify } from "../../../src/connectors/elasticsearch/ElasticsearchError.ts"
import * as Classify from "../../../src/connectors/kit/Classify.ts"
import { classify as mongoClassify } from "../../../src/connectors/mongodb/MongodbError.ts"
import { classify as mqttClassify } from "../../../src/connectors/mqtt/internal/client.ts"
import { classify as mysqlClassify, isRowRejection } from "../../../src/connectors/mysql/MysqlError.ts"
import { classify as natsClassify } from "../../../src/connectors/nats/internal/client.ts"
import { classify as pgClassify, isRetryable } from "../../../src/connectors/postgres/PostgresError.ts"
import { classify as rabbitClassify } from "../../../src/connectors/rabbitmq/internal/client.ts"
import { classify as redisClassify } from "../../../src/connectors/redis-streams/internal/client.ts"
import { ConnectorError, RejectedError } from "../../../src/Errors.ts"

const err = (props: { readonly [k: string]: unknown }, message = "boom"): Error => Object.assign(new Error(message), props)

describe("Classify.make", () => {
  const table = Classify.make<{ readonly code: unknown; readonly text: string }, string>({
    facts: (e, where) => ({ code: Classify.field(e, "code"), text: `${Classify.textOf(e)} at ${where}` }),
    message: (f) => f.text,
    rules: [
      { kind: "connection", when: (f) => Classify.isSocketCode(f.code) },
      { kind: "configuration", when: (f) => f.code === 404, message: () => "no such thing" },
      { kind: "transient", when: (f) => f.code === 404 }
    ],
    otherwise: "rejected"
  })

  it("takes the first rule that holds, its message if it has one, else `otherwise`", () => {
    assert.strictEqual(table.reasonOf(err({ code: "ECONNREFUSED" }), "h")._tag, "ConnectionError")
    const missing = table.reasonOf(err({ code: 404 }), "h")
    assert.strictEqual(missing._tag, "ConfigurationError")
    assert.strictEqual(missing.message, "no such thing")
    const other = table.reasonOf(err({ code: 1 }), "h")
    assert.strictEqual(other._tag, "RejectedError")
    assert.strictEqual(other.message, "boom at h")
    assert.strictEqual(table.kindOf(err({ code: "EPIPE" }), "h"), "connection")
  })

  it("keeps the cause unless the table says not to, and leaves a ConnectorError as it is", () => {
    const e = err({ code: 1 })
    assert.strictEqual(table.reasonOf(e, "h").cause, e)
    const noCause = Classify.make({ facts: () => ({}), message: () => "m", rules: [], otherwise: "timeout", cause: false })
    assert.strictEqual(noCause.reasonOf(e).cause, undefined)
    const done = new ConnectorError({ connector: "x", operation: "read", reason: new RejectedError({ message: "kept" }) })
    assert.strictEqual(table.classify("y", "write", "h")(done), done)
    const wrapped = table.classify("y", "write", "h")(e)
    assert.strictEqual(wrapped.connector, "y")
    assert.strictEqual(wrapped.operation, "write")
  })

  it("redacts the user and password of URLs", () => {
    assert.strictEqual(Classify.redactCredentials("at amqp://guest:secret@host:5672/x and mongodb+srv://u:p@c/db"), "at amqp://***@host:5672/x and mongodb+srv://***@c/db")
  })
})

describe("the connectors' tables", () => {
  const kind = (e: ConnectorError) => e.reason._tag
  it("postgres: SQLSTATE decides", () => {
    const c = pgClassify("postgres", "write")
    assert.strictEqual(kind(c(err({ code: "08006" }))), "ConnectionError")
    assert.strictEqual(kind(c(err({ code: "ECONNREFUSED" }))), "ConnectionError")
    assert.strictEqual(kind(c(err({ code: "40P01" }))), "TransientError")
    assert.strictEqual(kind(c(err({ code: "53300" }))), "TransientError")
    assert.strictEqual(kind(c(err({ code: "57014" }))), "TimeoutError")
    assert.strictEqual(kind(c(err({ code: "23505" }))), "RejectedError")
    assert.strictEqual(kind(c(err({ code: "42P01" }))), "ConfigurationError")
    assert.strictEqual(kind(c(err({ code: "28P01" }))), "ConfigurationError")
    assert.strictEqual(kind(c(err({ reason: { _tag: "DeadlockError" } }))), "TransientError")
    assert.strictEqual(kind(c(err({ reason: { _tag: "StatementTimeoutError" } }))), "TimeoutError")
    assert.strictEqual(c(err({ code: "23505" }, "duplicate key")).reason.message, "duplicate key (SQLSTATE 23505)")
    assert.isTrue(isRetryable(err({ code: "40001" })))
    assert.isFalse(isRetryable(err({ code: "22P02" })))
  })

  it("mysql: error number, SQLSTATE and driver code decide", () => {
    const c = mysqlClassify("mysql", "write")
    assert.strictEqual(kind(c(err({ code: "ETIMEDOUT" }))), "TimeoutError")
    assert.match(c(err({ code: "ETIMEDOUT" })).reason.message, /^connection timed out: /)
    assert.strictEqual(kind(c(err({ errno: 1045, sqlState: "28000" }))), "ConfigurationError")
    assert.strictEqual(kind(c(err({ code: "PROTOCOL_CONNECTION_LOST" }))), "ConnectionError")
    assert.strictEqual(kind(c(err({ errno: 2013 }))), "ConnectionError")
    assert.strictEqual(kind(c(err({ errno: 1213, sqlState: "40001" }))), "TransientError")
    assert.strictEqual(kind(c(err({ errno: 3024 }))), "TimeoutError")
    assert.strictEqual(kind(c(err({ errno: 1062, sqlState: "23000" }))), "RejectedError")
    assert.strictEqual(kind(c(err({ errno: 1064, sqlState: "42000" }))), "ConfigurationError")
    assert.strictEqual(c(err({ errno: 1062, sqlState: "23000" }, "dup")).reason.message, "dup (error 1062, SQLSTATE 23000)")
    assert.isTrue(isRowRejection(err({ errno: 1366 })))
  })

  it("mongodb and elasticsearch: class names, codes, labels and HTTP statuses; no credentials, no cause", () => {
    const m = mongoClassify("read")
    assert.strictEqual(kind(m(err({ name: "MongoServerSelectionError" }))), "ConnectionError")
    assert.strictEqual(kind(m(err({ name: "MongoServerError", code: 50 }))), "TimeoutError")
    assert.strictEqual(kind(m(err({ name: "MongoServerError", code: 189 }))), "TransientError")
    assert.strictEqual(kind(m(err({ name: "MongoServerError", code: 13 }))), "ConfigurationError")
    const dup = m(err({ name: "MongoServerError", code: 11000 }, "E11000 at mongodb://u:secret@h/db"))
    assert.strictEqual(kind(dup), "RejectedError")
    assert.strictEqual(dup.reason.message, "E11000 at mongodb://***@h/db (code 11000)")
    assert.strictEqual(dup.reason.cause, undefined)
    const e = esClassify("search")
    assert.strictEqual(kind(e(err({ name: "ResponseError", statusCode: 429 }))), "TransientError")
    assert.strictEqual(kind(e(err({ name: "ResponseError", statusCode: 404 }))), "ConfigurationError")
    assert.strictEqual(kind(e(err({ name: "ResponseError", statusCode: 400 }))), "RejectedError")
    assert.strictEqual(kind(e(err({ name: "NoLivingConnectionsError" }))), "ConnectionError")
    assert.match(e(err({ name: "ProductNotSupportedError" })).reason.message, /is not Elasticsearch$/)
  })

  it("brokers: reply and reason codes, socket codes and client class names", () => {
    const q = mqttClassify("connect", "h:1883")
    assert.strictEqual(q(err({ code: 135 })).reason.message, "not authorized: check the user and password of url (h:1883)")
    assert.strictEqual(kind(q(err({ code: 151 }))), "ConfigurationError")
    assert.strictEqual(kind(q(err({ code: 147 }))), "RejectedError")
    assert.strictEqual(kind(q(err({ code: "ETIMEDOUT" }))), "TimeoutError")
    assert.strictEqual(kind(q(err({}))), "ConnectionError")
    const r = rabbitClassify("connect", "h:5672 vhost /")
    assert.strictEqual(kind(r(err({ code: 404 }))), "ConfigurationError")
    assert.strictEqual(kind(r(err({ code: 406 }))), "RejectedError")
    assert.strictEqual(kind(r(err({ code: 506 }))), "TransientError")
    assert.strictEqual(kind(r(err({ code: "ECONNRESET" }))), "ConnectionError")
    assert.notInclude(r(err({ code: 320 }, "closed amqp://guest:secret@h")).reason.message, "secret")
    const n = natsClassify("nats", "read")
    assert.strictEqual(kind(n(err({ name: "TimeoutError" }))), "TimeoutError")
    assert.strictEqual(kind(n(err({ name: "ConnectionError" }))), "ConnectionError")
    assert.strictEqual(kind(n(err({ name: "JetStreamApiError", api_error: { code: 404 } }))), "ConfigurationError")
    assert.strictEqual(kind(n(err({ name: "JetStreamApiError" }))), "RejectedError")
    const d = redisClassify("redis-streams", "read")
    assert.strictEqual(kind(d(err({ code: "ECONNREFUSED" }))), "ConnectionError")
    assert.strictEqual(kind(d(err({ name: "ReplyError" }, "NOGROUP no such group"))), "ConfigurationError")
    assert.strictEqual(kind(d(err({ name: "ReplyError" }, "LOADING dataset"))), "TransientError")
    assert.strictEqual(kind(d(new Error("The client is closed"))), "ConnectionError")
    assert.strictEqual(kind(d(err({ name: "ReplyError" }, "ERR syntax"))), "RejectedError")
  })
})
