/**
 * The public entries reach every built-in connector and processor with a typed spec, and nothing
 * internal. The spec constructors are called through the modules `dataflare` and `dataflare/dsl`
 * export (package.json `exports` maps them to these files), and the built-in registry must decode
 * every spec's config — so a built-in definition added without a spec constructor, or a spec
 * whose `type` or config the registry does not take, fails here.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema, Sink, Stream } from "effect"
import * as Dsl from "../../dsl/index.ts"
import * as Dataflare from "../../src/index.ts"

const { Builtins, Csv, Elasticsearch, Memory, Mongodb, Mqtt, Mysql, Nats, Ndjson, Postgres, Processors, Rabbitmq, RedisStreams, Registry, Stdout } =
  Dataflare

type Row = { readonly id: number; readonly amount: number; readonly text: string }

/** One spec per built-in `type`, made with the public constructors only. */
const specs = {
  csv: [Csv.source({ path: "in.csv", columns: { id: "integer" } }), Csv.sink({ path: "out.csv" })],
  ndjson: [Ndjson.source<Row>({ path: "in.ndjson" }), Ndjson.sink({ path: "out.ndjson" })],
  memory: [Memory.source({ records: [{ id: 1 }] })],
  generator: [Memory.generator({ count: 3 })],
  collect: [Memory.sink()],
  stdout: [Stdout.sink()],
  postgres: [
    Postgres.source<Row>({ connection_string: "postgres://127.0.0.1/db", table: "t" }),
    Postgres.sink<Row>({ connection_string: "postgres://127.0.0.1/db", table: "t" })
  ],
  "redis-streams": [
    RedisStreams.source<{ readonly n: string }>({ url: "redis://127.0.0.1:6379", stream: "s", group: "g", consumer: "c" }),
    RedisStreams.sink<Row>({ url: "redis://127.0.0.1:6379", stream: "s", codec: "json" })
  ],
  nats: [
    Nats.source<{ readonly n: number }>({ servers: "127.0.0.1:4222", stream: "S", consumer: "c" }),
    Nats.sink<Row>({ servers: ["127.0.0.1:4222"], subject: "s.out", codec: "json" })
  ],
  elasticsearch: [
    Elasticsearch.source<Row>({ node: "http://127.0.0.1:9200", index: "rows", sort: [{ field: "id" }] }),
    Elasticsearch.sink<Row>({ node: "http://127.0.0.1:9200", index: "rows", id_field: "id" })
  ],
  mongodb: [
    Mongodb.source<Row>({ url: "mongodb://127.0.0.1:27017", database: "d", collection: "rows" }),
    Mongodb.sink<Row>({ url: "mongodb://127.0.0.1:27017", database: "d", collection: "rows", mode: "upsert", id_field: "id" })
  ],
  rabbitmq: [
    Rabbitmq.source<Row>({ url: "amqp://127.0.0.1:5672", queue: "q" }),
    Rabbitmq.sink<Row>({ url: "amqp://127.0.0.1:5672", exchange: "", routing_key: "q" })
  ],
  mqtt: [
    Mqtt.source<Row>({ url: "mqtt://127.0.0.1:1883", topic: "t/#", client_id: "c" }),
    Mqtt.sink<Row>({ url: "mqtt://127.0.0.1:1883", topic: { field: "topic" }, qos: 2 })
  ],
  mysql: [
    Mysql.source({ connection_string: "mysql://root@127.0.0.1:3306/test", table: "t" }),
    Mysql.sink({ connection_string: "mysql://root@127.0.0.1:3306/test", table: "t" })
  ],
  "mysql-cdc": [Mysql.cdc({ connection_string: "mysql://root@127.0.0.1:3306/test", tables: ["t"], server_id: 42 })
  ],
  "postgres-cdc": [Postgres.cdc({ connection_string: "postgres://127.0.0.1/db", slot: "s", publication: "p" })],
  filter: [Processors.filterSpec<Row>((r) => r.amount > 0), Processors.filterSpec<Row>("amount > 0")],
  map: [Processors.mapSpec((r: Row) => ({ id: r.id })), Processors.mapFieldsSpec<Row, { double: string }>({ double: "amount * 2" })],
  select: [Processors.selectSpec<Row, "id">(["id"])],
  rename: [Processors.renameSpec<Row, { text: string }>({ text: "label" })],
  flat_map: [Processors.flatMapSpec((r: Row) => [r, r])],
  process: [Processors.processSpec((rs: ReadonlyArray<Row>) => Effect.succeed(rs))],
  aggregate: [Processors.aggregateOf<Row>()({ group_by: ["text"], aggregates: { total: { op: "sum", field: "amount" } } })],
  dedupe: [Processors.dedupe<Row>({ key: ["id"] })],
  stream: [Dsl.Streams.source(Stream.make<Array<Row>>({ id: 1, amount: 2, text: "a" })), Dsl.Streams.sink(Sink.drain)],
  via: [Processors.viaSpec((rows: Stream.Stream<Row>) => Stream.map(rows, (r) => r.id))],
  worker_map: [Processors.workerMapSpec<Row, Row>({ module: join(import.meta.dirname, "../workers/fixtures/transforms.ts"), export: "double" })]
} as const

describe("the public surface", () => {
  it("every built-in definition has a spec constructor reachable from dataflare, with its type", () => {
    const builtins = Builtins.definitions.map((d) => d.type).sort()
    assert.deepStrictEqual(Object.keys(specs).sort(), [...new Set(builtins)].sort())
    for (const [type, list] of Object.entries(specs)) {
      for (const spec of list) assert.strictEqual(spec.type, type)
    }
  })

  it.effect("the built-in registry decodes every spec's config", () =>
    Effect.gen(function*() {
      const registry = yield* Registry.Registry
      for (const spec of Object.values(specs).flat()) {
        const kind = spec._tag === "SourceSpec" ? "source" : spec._tag === "SinkSpec" ? "sink" : "processor"
        const entry = registry.find(kind, spec.type)
        assert.isDefined(entry, `${kind} ${spec.type}`)
        if (entry === undefined) continue
        const prepared = entry.kind === "processor" ? entry.prepare(spec.config, { node: "n" }) : entry.prepare(spec.config)
        assert.isTrue(prepared.ok, `${kind} ${spec.type}: ${JSON.stringify(prepared.ok ? [] : prepared.issues)}`)
      }
    }).pipe(Effect.provide(Builtins.layer)))

  it("dataflare/dsl re-exports the same connector and processor modules as dataflare", () => {
    assert.strictEqual(Dsl.Csv, Dataflare.Csv)
    assert.strictEqual(Dsl.Memory, Dataflare.Memory)
    assert.strictEqual(Dsl.Ndjson, Dataflare.Ndjson)
    assert.strictEqual(Dsl.Postgres, Dataflare.Postgres)
    assert.strictEqual(Dsl.RedisStreams, Dataflare.RedisStreams)
    assert.strictEqual(Dsl.Nats, Dataflare.Nats)
    assert.strictEqual(Dsl.Elasticsearch, Dataflare.Elasticsearch)
    assert.strictEqual(Dsl.Mongodb, Dataflare.Mongodb)
    assert.strictEqual(Dsl.Rabbitmq, Dataflare.Rabbitmq)
    assert.strictEqual(Dsl.Mqtt, Dataflare.Mqtt)
    assert.strictEqual(Dsl.Mysql, Dataflare.Mysql)
    assert.strictEqual(Dsl.Processors, Dataflare.Processors)
    assert.strictEqual(Dsl.Spec, Dataflare.Spec)
    assert.strictEqual(Dsl.Stdout, Dataflare.Stdout)
  })

  it("the PostgreSQL helpers the docs name are reachable", () => {
    assert.isFunction(Postgres.PostgresSource.discover)
    assert.isFunction(Postgres.PostgresCdc.replicationLag)
    assert.deepStrictEqual(Postgres.definitions.map((d) => d.type).sort(), ["postgres", "postgres", "postgres-cdc"])
    assert.isTrue(Schema.isSchema(Postgres.PostgresConfig.SourceConfig))
  })

  it("examples import DataFlare as a user does: dataflare, dataflare/dsl, ..., never the repository's src/ or dsl/", () => {
    const root = join(import.meta.dirname, "../..")
    const files = (dir: string): Array<string> =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : /\.(ts|mts|js|mjs)$/.test(e.name) ? [join(dir, e.name)] : []
      )
    const offenders = files(join(root, "examples")).flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .flatMap((line, i) => /\bfrom\s+["'](\.\.?\/)+(src|dsl)\//.test(line) ? [`${relative(root, file)}:${i + 1}: ${line.trim()}`] : [])
    )
    assert.deepStrictEqual(offenders, [])
  })
})
