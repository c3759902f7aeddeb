/**
 * The config pieces connectors take from the kit: `DeadLetter.withErrorHandling` /
 * `withSinkErrorHandling` (the `on_error` / `dead_letter` tail and its check), `ConnectTimeout`
 * (the `connect_timeout` key and its reading), `publishLetters.Route` / `router` (one name or a
 * record's field) — decoded as a workflow's config is, and as the broker connectors use them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import * as PublishLetters from "../../../src/connectors/kit/publishLetters.ts"
import { ConnectTimeout, DeadLetter, Mqtt, Rabbitmq } from "../../../src/index.ts"

/** The decoding's failure as text, or `undefined` when `input` decodes. */
const issues = (schema: Schema.Codec<unknown, unknown>, input: unknown): string | undefined => {
  try {
    Schema.decodeUnknownSync(schema)(input)
    return undefined
  } catch (e) {
    return String(e)
  }
}

describe("kit config pieces", () => {
  it("withErrorHandling: the source's fields plus on_error / dead_letter { path }, checked", () => {
    const Config = DeadLetter.withErrorHandling({ url: Schema.String })
    assert.deepStrictEqual(Schema.decodeUnknownSync(Config)({ url: "x", on_error: "dead_letter", dead_letter: { path: "bad.ndjson" } }), {
      url: "x",
      on_error: "dead_letter",
      dead_letter: { path: "bad.ndjson" }
    })
    assert.include(issues(Config, { url: "x", on_error: "dead_letter" }), "on_error: dead_letter needs dead_letter: { path }")
    // a source's dead letters go to a file only
    assert.isDefined(issues(Config, { url: "x", on_error: "dead_letter", dead_letter: { to: "errors" } }))
    assert.isDefined(issues(Config, { on_error: "fail" }))
  })

  it("withSinkErrorHandling: dead letters to a file or to a destination of the workflow", () => {
    const Config = DeadLetter.withSinkErrorHandling({ url: Schema.String })
    assert.isUndefined(issues(Config, { url: "x", on_error: "dead_letter", dead_letter: { to: "errors" } }))
    assert.isUndefined(issues(Config, { url: "x", on_error: "dead_letter", dead_letter: { path: "bad.ndjson", max_bytes: 10 } }))
    assert.include(issues(Config, { url: "x", on_error: "dead_letter" }), "on_error: dead_letter needs dead_letter: { path }")
    assert.isDefined(issues(Config, { url: "x", on_error: "skip" }))
  })

  it("ConnectTimeout: a positive duration, 10 s when absent", () => {
    const Config = Schema.Struct({ ...ConnectTimeout.ConnectTimeoutFields })
    assert.strictEqual(ConnectTimeout.connectTimeoutMillis(Schema.decodeUnknownSync(Config)({})), 10_000)
    assert.strictEqual(ConnectTimeout.connectTimeoutMillis(Schema.decodeUnknownSync(Config)({ connect_timeout: "1500ms" })), 1500)
    assert.strictEqual(ConnectTimeout.connectTimeoutMillis(Schema.decodeUnknownSync(Config)({ connect_timeout: "2m" })), 120_000)
    assert.isDefined(issues(Config, { connect_timeout: "0s" }))
    assert.isDefined(issues(Config, { connect_timeout: "10 seconds" }))
  })

  it("the broker connectors take connect_timeout and on_error from the kit", () => {
    const mqtt = { url: "mqtt://127.0.0.1:1883", topic: "t/#", client_id: "c" }
    assert.isUndefined(issues(Mqtt.MqttConfig.SourceConfig, { ...mqtt, connect_timeout: "3s", on_error: "dead_letter", dead_letter: { path: "x" } }))
    assert.isDefined(issues(Mqtt.MqttConfig.SourceConfig, { ...mqtt, connect_timeout: -1 }))
    assert.include(issues(Rabbitmq.RabbitmqConfig.SinkConfig, { url: "amqp://127.0.0.1", exchange: "", routing_key: "q", on_error: "dead_letter" }), "dead_letter")
  })

  it("Route and router: one name for every record, or the record's field (missing, not a string, invalid: refused)", () => {
    const Key = PublishLetters.Route(Schema.String, "routing key", "where")
    assert.strictEqual(Schema.decodeUnknownSync(Key)("orders"), "orders")
    assert.deepStrictEqual(Schema.decodeUnknownSync(Key)({ field: "region" }), { field: "region" })
    assert.isDefined(issues(Key, { field: "" }))

    assert.strictEqual(PublishLetters.router("orders", "routing key")({ region: "eu" }), "orders")
    const byField = PublishLetters.router({ field: "region" }, "topic", (t) => (t.includes("#") ? "wildcards" : undefined))
    assert.strictEqual(byField({ region: "eu" }), "eu")
    const missing = byField({})
    assert.isTrue(PublishLetters.isRefusal(missing))
    assert.include(PublishLetters.isRefusal(missing) ? missing.reason : "", "the topic field 'region' is missing")
    const invalid = byField({ region: "eu/#" })
    assert.include(PublishLetters.isRefusal(invalid) ? invalid.reason : "", "not a valid topic")
  })
})
