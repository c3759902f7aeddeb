/**
 * `dataflare list`: every registered type with its config keys, read from the config Schemas —
 * the real CLI process for the output and exit codes, the listing in process for what it says
 * about each key (type, required, default, description).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { typeInfos, type TypeInfo } from "../../dsl/cli/internal/typeList.ts"
import { typeSchemas } from "../../dsl/yaml/internal/jsonSchema.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as EsWriter from "../../src/connectors/elasticsearch/internal/writer.ts"
import * as Registry from "../../src/Registry.ts"
import type { Definition } from "../../src/Registry.ts"
import * as Processor from "../../src/Processor.ts"
import { cli } from "./support.ts"

const listing = (definitions: ReadonlyArray<Definition>) =>
  Effect.gen(function*() {
    const registry = yield* Registry.Registry
    const { definitions: defs, types } = typeSchemas(registry.entries)
    return typeInfos(types, defs)
  }).pipe(Effect.provide(Registry.layer(definitions)))

const find = (infos: ReadonlyArray<TypeInfo>, kind: TypeInfo["kind"], type: string): TypeInfo => {
  const info = infos.find((i) => i.kind === kind && i.type === type)
  assert.isDefined(info, `${kind} ${type} listed`)
  return info as TypeInfo
}

/** The built-in types a YAML file can configure when this test was written: every key described. */
const DESCRIBED = [
  ["source", "csv"], ["sink", "csv"], ["source", "ndjson"], ["sink", "ndjson"], ["source", "memory"],
  ["source", "generator"], ["sink", "collect"], ["sink", "stdout"], ["source", "postgres"], ["sink", "postgres"],
  ["source", "postgres-cdc"], ["processor", "filter"], ["processor", "map"], ["processor", "select"],
  ["processor", "rename"], ["processor", "aggregate"], ["processor", "dedupe"], ["processor", "worker_map"],
  ["source", "mysql"], ["sink", "mysql"], ["source", "mysql-cdc"], ["source", "elasticsearch"], ["sink", "elasticsearch"],
  ["source", "mongodb"], ["sink", "mongodb"], ["source", "redis-streams"], ["sink", "redis-streams"], ["source", "nats"],
  ["sink", "nats"], ["source", "rabbitmq"], ["sink", "rabbitmq"], ["source", "mqtt"], ["sink", "mqtt"]
] as const

describe("dataflare list", () => {
  it.effect("every built-in key has a type and a description; defaults come from the Schema annotations", () =>
    Effect.gen(function*() {
      const infos = yield* listing(Builtins.definitions)
      for (const [kind, type] of DESCRIBED) {
        const info = find(infos, kind, type)
        assert.isFalse(info.dslOnly, `${kind} ${type} is configurable from a file`)
        assert.isAbove(info.keys.length, 0)
        for (const key of info.keys) {
          assert.isString(key.description, `${kind} ${type}: key ${key.name} has a description`)
          assert.notStrictEqual(key.type, "any", `${kind} ${type}: key ${key.name} has a type`)
        }
      }
      for (const info of infos) assert.isAbove(info.description.length, 0, `${info.kind} ${info.type} has a description`)
      const csv = find(infos, "source", "csv")
      assert.deepStrictEqual(csv.keys.find((k) => k.name === "path"), {
        name: "path",
        type: "string",
        required: true,
        description: "The CSV file to read or write (relative to the current directory)"
      })
      assert.deepInclude(csv.keys, {
        name: "header",
        type: "boolean",
        required: false,
        default: true,
        description: "The first line names the columns (source); write such a line (sink)"
      })
      assert.include(csv.keys.find((k) => k.name === "oversize"), { type: "fail | dead_letter", default: "fail" })
      assert.include(csv.keys.find((k) => k.name === "dead_letter.path"), { required: true })
      const pg = find(infos, "sink", "postgres")
      assert.include(pg.keys.find((k) => k.name === "retry.delay"), { type: "duration", default: "100ms" })
      // the database connectors' defaults are the ones their code applies
      const es = find(infos, "sink", "elasticsearch")
      assert.include(es.keys.find((k) => k.name === "batch_size"), { default: EsWriter.DEFAULTS.batchSize })
      assert.include(es.keys.find((k) => k.name === "max_bytes"), { default: EsWriter.DEFAULTS.maxBytes })
      assert.include(es.keys.find((k) => k.name === "concurrency"), { default: EsWriter.DEFAULTS.concurrency })
      assert.include(find(infos, "source", "elasticsearch").keys.find((k) => k.name === "keep_alive"), { type: "duration", default: "10m" })
      assert.include(find(infos, "source", "mysql-cdc").keys.find((k) => k.name === "start"), { type: "end | beginning", default: "end" })
      assert.include(find(infos, "sink", "mongodb").keys.find((k) => k.name === "write_concern.wtimeout"), { type: "duration" })
      assert.notProperty(find(infos, "source", "elasticsearch").keys.find((k) => k.name === "batch_size"), "default")
      // the messaging connectors' defaults too (durations on keys with a custom check: annotateKey)
      assert.include(find(infos, "source", "redis-streams").keys.find((k) => k.name === "block"), { type: "duration", default: "100ms" })
      assert.include(find(infos, "source", "nats").keys.find((k) => k.name === "max_in_flight"), { default: 100000 })
      assert.include(find(infos, "sink", "rabbitmq").keys.find((k) => k.name === "persistent"), { type: "boolean", default: true })
      assert.include(find(infos, "source", "mqtt").keys.find((k) => k.name === "session_expiry"), { type: "duration", default: "1h" })
      assert.include(find(infos, "sink", "mqtt").keys.find((k) => k.name === "qos"), { default: 1 })
      assert.isTrue(find(infos, "processor", "process").dslOnly)
    }))

  it.effect("a third-party type appears with its keys, described or not", () =>
    Effect.gen(function*() {
      const Upper = Processor.define({
        type: "upper",
        description: "upper-cases one field",
        config: Schema.Struct({
          field: Schema.String.annotate({ description: "The field to upper-case" }),
          locale: Schema.optionalKey(Schema.String)
        }),
        make: () => Processor.stateless()
      })
      const infos = yield* listing([...Builtins.definitions, Upper])
      assert.deepStrictEqual(find(infos, "processor", "upper").keys, [
        { name: "field", type: "string", required: true, description: "The field to upper-case" },
        { name: "locale", type: "string", required: false }
      ])
    }))

  it.live("prints every kind, filters by kind or type, JSON on request, exit 2 for an unknown name", () =>
    Effect.gen(function*() {
      const [all, sinks, csv, json, unknown] = yield* Effect.all([
        cli(["list"]),
        cli(["list", "sinks"]),
        cli(["list", "csv"]),
        cli(["list", "postgres-cdc", "--format", "json"]),
        cli(["list", "csvv"])
      ], { concurrency: 2 })
      assert.strictEqual(all.status, 0, all.stderr)
      assert.strictEqual(all.stderr, "")
      for (const head of ["source csv — ", "sink postgres — ", "processor aggregate — ", "processor process — "]) {
        assert.include(all.stdout, `\n${head}`.slice(all.stdout.startsWith(head) ? 1 : 0))
      }
      assert.match(all.stdout, /\n {2}path +string, required +The CSV file to read or write/)
      assert.match(all.stdout, /\n {2}header +boolean, default true +The first line names the columns/)
      assert.strictEqual(sinks.status, 0)
      const heads = (text: string) => text.split("\n").filter((l) => !l.startsWith(" ") && l !== "").map((l) => l.split(" — ")[0])
      assert.isTrue(heads(sinks.stdout).every((head) => head.startsWith("sink ")), sinks.stdout)
      assert.include(heads(sinks.stdout), "sink stdout")
      assert.strictEqual(csv.status, 0)
      assert.deepStrictEqual(heads(csv.stdout), ["source csv", "sink csv"])
      assert.strictEqual(json.status, 0)
      const parsed: ReadonlyArray<TypeInfo> = JSON.parse(json.stdout)
      assert.strictEqual(parsed.length, 1)
      assert.strictEqual(parsed[0].type, "postgres-cdc")
      assert.deepInclude(parsed[0].keys, {
        name: "slot",
        type: "string",
        required: true,
        description: "The logical replication slot, created with pgoutput when missing"
      })
      assert.strictEqual(unknown.status, 2)
      assert.strictEqual(unknown.stdout, "")
      assert.match(unknown.stderr, /^error: unknown type 'csvv': expected sources, processors, sinks or one of .*\bcsv\b/)
    }), 120_000)
})
