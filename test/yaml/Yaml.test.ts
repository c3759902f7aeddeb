// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow texts contain ${VAR} references
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import { type DefinitionIssue, formatIssue } from "../../src/Errors.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

const issuesOf = (text: string, env: Yaml.Environment = {}): Effect.Effect<ReadonlyArray<string>, WorkflowGraph.WorkflowGraph> =>
  Yaml.parse(text, { file: "wf.yaml", env }).pipe(
    Effect.flip,
    Effect.map((e) => e.issues.map(formatIssue))
  )

const full = `name: orders-pipeline
version: "1.0"
execution:
  batch_size: 500
  queue_capacity: 8
  checkpoint_interval: 30s
  restart_strategy: { type: fixed-delay, attempts: 3, delay: 5s }
sources:
  orders:
    type: csv
    parallelism: 1
    config:
      path: data/orders.csv
      columns: { amount: number, id: integer }
transformations:
  active:
    type: filter
    inputs: [orders]
    config:
      condition: "status == 'active' && amount >= 10"
  shaped:
    type: map
    inputs: ["active"]
    parallelism: 2
    ordered: true
    key_by: [customer, id]
    config:
      fields: { total: "amount * 2" }
destinations:
  out:
    type: ndjson
    inputs: [shaped]
    config:
      path: out/orders.ndjson
`

describe("Yaml.parse", () => {
  it.effect("turns a full workflow into the expected graph, keeping file order", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(full, { file: "wf.yaml", env: {} })
      assert.deepStrictEqual(WorkflowGraph.structure(graph), {
        name: "orders-pipeline",
        version: "1.0",
        execution: {
          batch_size: 500,
          queue_capacity: 8,
          checkpoint_interval: "30s",
          restart_strategy: { type: "fixed-delay", attempts: 3, delay: "5s" }
        },
        nodes: [
          {
            kind: "source",
            id: "orders",
            type: "csv",
            config: { path: "data/orders.csv", columns: { amount: "number", id: "integer" } },
            inputs: [],
            parallelism: 1
          },
          {
            kind: "processor",
            id: "active",
            type: "filter",
            config: { condition: "status == 'active' && amount >= 10" },
            inputs: ["orders"]
          },
          {
            kind: "processor",
            id: "shaped",
            type: "map",
            config: { fields: { total: "amount * 2" } },
            inputs: ["active"],
            parallelism: 2,
            key_by: ["customer", "id"],
            ordered: true
          },
          { kind: "sink", id: "out", type: "ndjson", config: { path: "out/orders.ndjson" }, inputs: ["shaped"] }
        ]
      })
      assert.strictEqual(graph.sourceMap?.file, "wf.yaml")
    }))

  it.effect("reads the format of ARCHITECTURE §8 unchanged", () =>
    Effect.gen(function*() {
      const text = `name: "enhanced-data-pipeline"
version: "1.0"
execution:
  batch_size: 10000
  parallelism: 4
  checkpoint_interval: "30s"
  restart_strategy: { type: "fixed-delay", attempts: 3, delay: "5s" }
sources:
  postgres_source:
    type: "postgres"
    parallelism: 2
    config:
      connection_string: "\${PG_CONNECTION}"
      table: "customers"
      incremental: { column: "updated_at", initial_value: "2023-01-01T00:00:00Z" }
      batch_size: 1000
transformations:
  filter_active:
    type: "filter"
    inputs: ["postgres_source"]
    parallelism: 4
    config: { condition: "status == 'active'", vectorized: true }
destinations:
  elasticsearch_sink:
    type: "elasticsearch"
    inputs: ["filter_active"]
    parallelism: 2
    config: { connection: "\${ES_CONNECTION}", index: "customers", id_field: "customer_id", batch_size: 500 }
`
      const graph = yield* Yaml.parse(text, {
        file: "wf.yaml",
        env: { PG_CONNECTION: "postgres://db/app", ES_CONNECTION: "http://es:9200" }
      })
      assert.deepStrictEqual(WorkflowGraph.structure(graph), {
        name: "enhanced-data-pipeline",
        version: "1.0",
        execution: {
          batch_size: 10000,
          parallelism: 4,
          checkpoint_interval: "30s",
          restart_strategy: { type: "fixed-delay", attempts: 3, delay: "5s" }
        },
        nodes: [
          {
            kind: "source",
            id: "postgres_source",
            type: "postgres",
            config: {
              connection_string: "postgres://db/app",
              table: "customers",
              incremental: { column: "updated_at", initial_value: "2023-01-01T00:00:00Z" },
              batch_size: 1000
            },
            inputs: [],
            parallelism: 2
          },
          {
            kind: "processor",
            id: "filter_active",
            type: "filter",
            config: { condition: "status == 'active'", vectorized: true },
            inputs: ["postgres_source"],
            parallelism: 4
          },
          {
            kind: "sink",
            id: "elasticsearch_sink",
            type: "elasticsearch",
            config: { connection: "http://es:9200", index: "customers", id_field: "customer_id", batch_size: 500 },
            inputs: ["filter_active"],
            parallelism: 2
          }
        ]
      })
    }))

  it.effect("keeps a numeric version as written and gives a node without config an empty config", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(
        "name: n\nversion: 1.10\nsources:\n  a: { type: gen }\ndestinations:\n  b: { type: stdout, inputs: [a] }\n",
        { file: "wf.yaml", env: {} }
      )
      assert.strictEqual(graph.version, "1.10")
      assert.deepStrictEqual(graph.execution, {})
      assert.deepStrictEqual(
        graph.nodes.map((n) => [n.id, n.kind, n.config]),
        [["a", "source", {}], ["b", "sink", {}]]
      )
    }))

  it.effect("accepts a single string key_by", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(
        "name: n\nsources:\n  a: { type: gen }\ndestinations:\n  b: { type: stdout, inputs: [a], key_by: id }\n",
        { file: "wf.yaml", env: {} }
      )
      assert.strictEqual(WorkflowGraph.node(graph, "b")?.key_by, "id")
    }))
})

describe("SourceMap", () => {
  it.effect("locates node keys, nested config keys, list items and top-level paths exactly", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(full, { file: "wf.yaml", env: {} })
      const map = graph.sourceMap!
      const at = (node: string | undefined, path: ReadonlyArray<PropertyKey>) => {
        const loc = map.locate(node, path)
        return loc === undefined ? undefined : `${loc.file}:${loc.line}:${loc.column}`
      }
      assert.strictEqual(at("orders", []), "wf.yaml:9:3")
      assert.strictEqual(at("orders", ["type"]), "wf.yaml:10:5")
      assert.strictEqual(at("orders", ["config", "path"]), "wf.yaml:13:7")
      // a key inside a flow mapping
      assert.strictEqual(at("orders", ["config", "columns", "id"]), "wf.yaml:14:34")
      // list items point at the item
      assert.strictEqual(at("active", ["inputs", 0]), "wf.yaml:18:14")
      assert.strictEqual(at("shaped", ["inputs", 0]), "wf.yaml:23:14")
      assert.strictEqual(at("shaped", ["key_by", 1]), "wf.yaml:26:24")
      assert.strictEqual(at("out", ["config", "path"]), "wf.yaml:34:7")
      // a missing key falls back to the nearest existing ancestor
      assert.strictEqual(at("out", ["config", "nope", "deeper"]), "wf.yaml:33:5")
      assert.strictEqual(at("active", ["inputs", 7]), "wf.yaml:18:5")
      assert.strictEqual(at("active", ["config", "condition", "x"]), "wf.yaml:20:7")
      // top-level paths
      assert.strictEqual(at(undefined, ["execution", "batch_size"]), "wf.yaml:4:3")
      assert.strictEqual(at(undefined, ["execution", "restart_strategy", "delay"]), "wf.yaml:7:55")
      assert.strictEqual(at(undefined, ["name"]), "wf.yaml:1:1")
      // unknown node
      assert.strictEqual(map.locate("ghost", ["type"]), undefined)
    }))

  it.effect("describes paths as written in the file", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(full, { file: "wf.yaml", env: {} })
      const map = graph.sourceMap!
      assert.strictEqual(map.describe("out", ["config", "path"]), "destinations.out.config.path")
      assert.strictEqual(map.describe("orders", []), "sources.orders")
      assert.strictEqual(map.describe("active", ["inputs", 0]), "transformations.active.inputs[0]")
      assert.strictEqual(map.describe(undefined, ["execution", "batch_size"]), "execution.batch_size")
      assert.strictEqual(WorkflowGraph.describePath(graph, "shaped", ["config", "fields", "total"]), "transformations.shaped.config.fields.total")
    }))
})

describe("environment substitution", () => {
  const text = `name: env
sources:
  in:
    type: csv
    config:
      path: "\${DATA_DIR}/in.csv"
      delimiter: \${DELIM:-;}
      header: \${HEADER:-true}
      note: "$\${NOT_A_VAR} costs $5"
destinations:
  out:
    type: ndjson
    inputs: [in]
    config: { path: "\${OUT:-out.ndjson}" }
`
  it.effect("replaces set variables, applies defaults and keeps $${ as a literal", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(text, { file: "wf.yaml", env: { DATA_DIR: "/data", HEADER: "" } })
      assert.deepStrictEqual(WorkflowGraph.node(graph, "in")?.config, {
        path: "/data/in.csv",
        delimiter: ";",
        // empty counts as unset for ${VAR:-default}; a plain scalar is typed after substitution
        header: true,
        note: "${NOT_A_VAR} costs $5"
      })
      assert.deepStrictEqual(WorkflowGraph.node(graph, "out")?.config, { path: "out.ndjson" })
    }))

  it.effect("types plain scalars after substitution but keeps quoted ones strings", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(
        "name: n\nexecution:\n  batch_size: ${BATCH}\nsources:\n  a:\n    type: gen\n    config:\n      n: \"${BATCH}\"\n      m: ${BATCH}\ndestinations:\n  b: { type: stdout, inputs: [a] }\n",
        { file: "wf.yaml", env: { BATCH: "250" } }
      )
      assert.strictEqual(graph.execution.batch_size, 250)
      assert.deepStrictEqual(WorkflowGraph.node(graph, "a")?.config, { n: "250", m: 250 })
    }))

  it.effect("an unset variable without default is an error naming it at its line and column", () =>
    Effect.gen(function*() {
      const issues = yield* issuesOf(text, { HEADER: "false" })
      assert.deepStrictEqual(issues, [
        "wf.yaml:6:14 sources.in.config.path: environment variable DATA_DIR is not set (write ${DATA_DIR:-default} for a default)"
      ])
    }))

  it.effect("reports every unset variable, invalid references and unterminated ones", () =>
    Effect.gen(function*() {
      const issues = yield* issuesOf(
        "name: ${NAME}\nsources:\n  a:\n    type: gen\n    config: { x: \"${A} and ${B}\", y: \"${1bad}\", z: \"${OPEN\" }\ndestinations:\n  b: { type: stdout, inputs: [a] }\n"
      )
      assert.deepStrictEqual(issues, [
        "wf.yaml:1:7 name: environment variable NAME is not set (write ${NAME:-default} for a default)",
        "wf.yaml:5:19 sources.a.config.x: environment variable A is not set (write ${A:-default} for a default)",
        "wf.yaml:5:28 sources.a.config.x: environment variable B is not set (write ${B:-default} for a default)",
        "wf.yaml:5:39 sources.a.config.y: invalid variable reference '${1bad}': write ${NAME} or ${NAME:-default} (NAME: letters, digits, _)",
        "wf.yaml:5:53 sources.a.config.z: unterminated '${': write ${NAME}, ${NAME:-default}, or $${ for a literal '${'"
      ])
    }))

  it.effect("does not substitute in keys", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(
        "name: n\nsources:\n  a: { type: gen, config: { \"${K}\": 1 } }\ndestinations:\n  b: { type: stdout, inputs: [a] }\n",
        { file: "wf.yaml", env: { K: "key" } }
      )
      assert.deepStrictEqual(WorkflowGraph.node(graph, "a")?.config, { "${K}": 1 })
    }))
})

/** Workflow texts with definition errors, and exactly the issues the loader reports for each, in file order. */
const definitionErrors: ReadonlyArray<{
  readonly title: string
  readonly checks: ReadonlyArray<{ readonly text: string; readonly issues: ReadonlyArray<string> }>
}> = [
  {
    title: "a YAML syntax error carries the parser's line and column (the first one only)",
    checks: [
      {
        text: "name: x\nsources:\n  a: { type: ${X} }\ndestinations: {}\n",
        issues: [
          "wf.yaml:3:15: YAML syntax error: Unexpected flow-map-start at node end (inside { } or [ ], quote a variable: \"${X}\")"
        ]
      },
      {
        text: "name: x\nsources:\n  a:\n    type: \"csv\n",
        issues: [
          "wf.yaml:5:1: YAML syntax error: Missing closing \"quote"
        ]
      }
    ]
  },
  {
    title: "a second YAML document is refused at its start",
    checks: [
      {
        text: "name: x\n---\nname: y\n",
        issues: [
          "wf.yaml:2:1: a workflow file holds one YAML document: remove the second one (from its '---')"
        ]
      }
    ]
  },
  {
    title: "a duplicate key inside a mapping is a syntax error at the second key",
    checks: [
      {
        text: "name: x\nname: y\n",
        issues: ["wf.yaml:2:1: YAML syntax error: Map keys must be unique"]
      }
    ]
  },
  {
    title: "an empty file and a non-mapping document",
    checks: [
      {
        text: "",
        issues: [
          "wf.yaml:1:1: the file is empty: a workflow needs at least 'name', 'sources' and 'destinations'"
        ]
      },
      {
        text: "- a\n- b\n",
        issues: [
          "wf.yaml:1:1: a workflow is a mapping of name, version, execution, sources, transformations, destinations; got a list"
        ]
      }
    ]
  },
  {
    title: "missing name, unknown top-level key with a suggestion, no sources or destinations",
    checks: [
      {
        text: "version: \"1\"\nsource:\n  a: { type: gen }\n",
        issues: [
          "wf.yaml:1:1 name: missing required key 'name' (the workflow's name)",
          "wf.yaml:1:1 sources: a workflow needs at least one source",
          "wf.yaml:1:1 destinations: a workflow needs at least one destination",
          "wf.yaml:2:1 source: unknown key 'source' at the top level (did you mean 'sources'?); valid keys: name, version, execution, sources, transformations, destinations"
        ]
      }
    ]
  },
  {
    title: "unknown node key with the nearest valid key, node without type, inputs not a list of strings",
    checks: [
      {
        text: `name: x
sources:
  a:
    type: gen
    paralelism: 2
transformations:
  f:
    inputs: a
    config: {}
  g:
    type: map
    inputs: [a, { id: f }]
  h:
    type: map
destinations:
  out:
    type: stdout
    inputs: 7
`,
        issues: [
          "wf.yaml:5:5 sources.a.paralelism: unknown key 'paralelism' in source 'a' (did you mean 'parallelism'?); valid keys: type, parallelism, config, key_by, ordered",
          "wf.yaml:7:3 transformations.f: transformation 'f' has no 'type'",
          "wf.yaml:8:5 transformations.f.inputs: expected a list of node ids, e.g. inputs: [a]",
          "wf.yaml:12:17 transformations.g.inputs[1]: expected a node id (a string), got a mapping",
          "wf.yaml:13:3 transformations.h: transformation 'h' has no 'inputs' (the ids of the nodes it reads from)",
          "wf.yaml:18:5 destinations.out.inputs: expected a list of node ids, got number 7"
        ]
      }
    ]
  },
  {
    title: "inputs on a source, bad parallelism, ordered and type values",
    checks: [
      {
        text: `name: x
sources:
  a:
    type: 42
    inputs: [b]
    parallelism: 0
    ordered: "yes"
destinations:
  b: { type: stdout, inputs: [a], parallelism: 1.5 }
  c: nothing
`,
        issues: [
          "wf.yaml:4:5 sources.a.type: expected a type name such as 'csv' or 'filter', got number 42",
          "wf.yaml:5:5 sources.a.inputs: a source has no inputs",
          "wf.yaml:6:5 sources.a.parallelism: expected a positive integer, got number 0",
          "wf.yaml:7:5 sources.a.ordered: expected true or false, got the string \"yes\"",
          "wf.yaml:9:35 destinations.b.parallelism: expected a positive integer, got number 1.5",
          "wf.yaml:10:3 destinations.c: expected a mapping with type, inputs, parallelism, config, key_by, ordered; got the string \"nothing\""
        ]
      }
    ]
  },
  {
    title: "duplicate ids across sections name both places",
    checks: [
      {
        text: `name: x
sources:
  a: { type: gen }
transformations:
  a: { type: filter, inputs: [a] }
destinations:
  b: { type: stdout, inputs: [a] }
`,
        issues: [
          "wf.yaml:5:3 transformations.a: duplicate node id 'a': already defined as sources.a (line 3); node ids are unique across sources, transformations and destinations"
        ]
      }
    ]
  },
  {
    title: "bad execution values: negative batch size, bad durations, unknown keys, bad restart strategy",
    checks: [
      {
        text: `name: x
execution:
  batch_size: -1
  checkpoint_interval: "5 parsecs"
  queue_capacty: 3
  restart_strategy:
    type: fixed-delay
    attempts: 0
    delay: 5s
  batching: { linger: soon }
sources:
  a: { type: gen }
destinations:
  b: { type: stdout, inputs: [a] }
`,
        issues: [
          "wf.yaml:3:3 execution.batch_size: expected a value greater than 0, got -1",
          "wf.yaml:4:3 execution.checkpoint_interval: expected a duration such as 500ms, 30s, 5m or 1h, got \"5 parsecs\"",
          "wf.yaml:5:3 execution.queue_capacty: unknown key 'queue_capacty' in 'execution' (did you mean 'queue_capacity'?); valid keys: batch_size, queue_capacity, parallelism, key_groups, checkpoint_interval, restart_strategy, batching, state",
          "wf.yaml:8:5 execution.restart_strategy.attempts: expected a value greater than 0, got 0",
          "wf.yaml:10:15 execution.batching.linger: expected a duration such as 500ms, 30s, 5m or 1h, got \"soon\""
        ]
      }
    ]
  },
  {
    title: "reports problems of different kinds together, in file order",
    checks: [
      {
        text: `name: x
execution: { batch_size: 0 }
sources:
  a: { type: gen, config: { p: "\${MISSING}" } }
destinations:
  b: { tipe: stdout, inputs: [a] }
`,
        issues: [
          "wf.yaml:2:14 execution.batch_size: expected a value greater than 0, got 0",
          "wf.yaml:4:33 sources.a.config.p: environment variable MISSING is not set (write ${MISSING:-default} for a default)",
          "wf.yaml:6:3 destinations.b: destination 'b' has no 'type'",
          "wf.yaml:6:8 destinations.b.tipe: unknown key 'tipe' in destination 'b' (did you mean 'type'?); valid keys: type, inputs, parallelism, config, key_by, ordered"
        ]
      }
    ]
  },
  {
    title: "does not report a value twice when its variable is unset",
    checks: [
      {
        text: "name: x\nexecution:\n  batch_size: ${BATCH}\nsources:\n  a: { type: gen }\ndestinations:\n  b: { type: stdout, inputs: [a] }\n",
        issues: [
          "wf.yaml:3:15 execution.batch_size: environment variable BATCH is not set (write ${BATCH:-default} for a default)"
        ]
      }
    ]
  }
]

describe("definition errors", () => {
  for (const { checks, title } of definitionErrors) {
    it.effect(title, () =>
      Effect.gen(function*() {
        for (const { issues, text } of checks) assert.deepStrictEqual(yield* issuesOf(text), issues)
      }))
  }

  it.effect("issues are structured: path, message and location", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Yaml.parse("name: x\nsources: {}\ndestinations: {}\n", { file: "w.yaml", env: {} }))
      const first: DefinitionIssue = error.issues[0]
      assert.deepStrictEqual(first, {
        path: "sources",
        message: "a workflow needs at least one source",
        location: { file: "w.yaml", line: 2, column: 1 }
      })
    }))
})

describe("Yaml.load", () => {
  it.effect("reads a file and names it in locations", () =>
    Effect.acquireUseRelease(
      Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-yaml-"))),
      (dir) =>
        Effect.gen(function*() {
          const file = join(dir, "wf.yaml")
          yield* Effect.promise(() => writeFile(file, full.replace("type: csv", "type: csv\n    bogus: 1")))
          const error = yield* Effect.flip(Yaml.load(file, { env: {} }))
          assert.deepStrictEqual(error.issues.map(formatIssue), [
            `${file}:11:5 sources.orders.bogus: unknown key 'bogus' in source 'orders'; valid keys: type, parallelism, config, key_by, ordered`
          ])
          yield* Effect.promise(() => writeFile(file, full))
          const graph = yield* Yaml.load(file, { env: {} })
          assert.strictEqual(graph.nodes.length, 4)
          assert.strictEqual(graph.sourceMap?.locate("out", ["config", "path"])?.file, file)
        }),
      (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
    ))

  it.effect("a file that cannot be read is a definition error naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Yaml.load("/nonexistent/dir/wf.yaml"))
      assert.deepStrictEqual(error.issues.map(formatIssue), ["/nonexistent/dir/wf.yaml: cannot read workflow file: no such file"])
    }))
})
