// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow texts contain ${VAR} references
/**
 * `dataflare schema`: the JSON Schema of a workflow file, checked by an independent validator
 * (ajv, draft 2020-12, strict): every example workflow is valid against it; files that
 * `dataflare validate` refuses are refused by the schema too; files `validate` accepts (with
 * `${VAR}` references where numbers, booleans and enums go) are accepted by the schema too; the
 * committed `schema/workflow.schema.json` is what the command prints.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Ajv2020 } from "ajv/dist/2020.js"
import { Effect, Exit } from "effect"
import { parse as parseYaml } from "yaml"
import { text } from "../../dsl/cli/commands/schema.ts"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Runtime from "../../src/Runtime.ts"
import { cli, tempDir } from "./support.ts"

const root = resolve(import.meta.dirname, "../..")
const committedFile = join(root, "schema/workflow.schema.json")
const committed = readFileSync(committedFile, "utf8")
const schema: { readonly [key: string]: unknown } = JSON.parse(committed)

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictTuples: false, allowUnionTypes: true })
const check = ajv.compile(schema)
const schemaErrors = (yaml: string): string =>
  check(parseYaml(yaml)) ? "" : ajv.errorsText(check.errors, { separator: "\n" })

/** What `dataflare validate` does in process: load (with `env`), then prepare against the built-ins. */
const validate = (yaml: string, env: Record<string, string> = {}) =>
  Effect.exit(
    Yaml.parse(yaml, { file: "wf.yaml", env }).pipe(Effect.flatMap(Runtime.prepare), Effect.provide(Builtins.layer))
  )

const frame = (nodes: string, execution = "") =>
  `name: wf\n${execution}sources:\n  src: { type: memory, config: { records: [] } }\n${nodes}`

const out = "destinations:\n  out: { type: stdout, inputs: [src] }\n"

/** Files `validate` refuses; the schema must refuse each as well. */
const invalid: ReadonlyArray<readonly [string, string]> = [
  ["an unknown top-level key", `nme: x\n${frame(out).slice("name: wf\n".length)}`],
  ["a blank name", frame(out).replace("name: wf", 'name: "  "')],
  ["no destinations", frame("")],
  ["an unknown source type", out + "name: wf\nsources:\n  src: { type: csvv, config: { path: a.csv } }\n"],
  ["a csv source without its required path", out + "name: wf\nsources:\n  src: { type: csv, config: { header: true } }\n"],
  ["a misspelled config key", frame("destinations:\n  out: { type: ndjson, inputs: [src], config: { pth: o.ndjson } }\n")],
  ["a value outside an enum", frame("destinations:\n  out: { type: stdout, inputs: [src], config: { format: xml } }\n")],
  ["a duration the runtime does not read", frame(out, 'execution: { checkpoint_interval: "10 seconds" }\n')],
  ["parallelism 0", frame("destinations:\n  out: { type: stdout, inputs: [src], parallelism: 0 }\n")],
  ["a transformation without inputs", frame(`transformations:\n  f: { type: filter, config: { condition: "true" } }\n${out}`)],
  ["an unknown restart strategy", frame(out, "execution: { restart_strategy: { type: forever } }\n")],
  ["a string where an integer goes", frame(out, "execution: { batch_size: many }\n")],
  ["a key of a node that does not exist", frame("destinations:\n  out: { type: stdout, inputs: [src], when: always }\n")],
  ["a source with inputs", frame(out).replace("type: memory,", "type: memory, inputs: [out],")],
  ["a type only the DSL can configure (a function)", frame(`transformations:\n  p: { type: process, inputs: [src], config: { fn: x } }\n${out}`)],
  ["a key only the DSL can give (a function)", frame(`transformations:\n  f: { type: filter, inputs: [src], config: { condition: "true", predicate: x } }\ndestinations:\n  out: { type: stdout, inputs: [f] }\n`)],
  ["a sink config that is not a mapping", frame("destinations:\n  out: { type: stdout, inputs: [src], config: [ndjson] }\n")]
]

/** Files `validate` accepts (no variable set: defaults apply); the schema must accept each. */
const valid: ReadonlyArray<readonly [string, string]> = [
  ["variables where numbers, booleans and enums go", [
    "name: wf",
    "execution:",
    "  batch_size: ${BATCH:-500}",
    "  checkpoint_interval: ${EVERY:-10s}",
    "  batching:",
    "    adaptive: ${ADAPTIVE:-false}",
    "sources:",
    "  src:",
    "    type: memory",
    "    config: { records: [] }",
    "destinations:",
    "  out:",
    "    type: stdout",
    "    inputs: [src]",
    "    parallelism: ${P:-1}",
    "    config:",
    "      format: ${FORMAT:-csv}",
    ""
  ].join("\n")],
  ["a sink with no config, and an empty one", frame("destinations:\n  a: { type: stdout, inputs: [src] }\n  b: { type: stdout, inputs: [src], config: }\n")],
  ["a numeric version, empty execution and transformations", `version: 1.10\nexecution:\ntransformations:\n${frame(out)}`],
  ["durations as numbers of milliseconds", frame(`transformations:\n  d: { type: dedupe, inputs: [src], config: { key: [id], time_field: t, window: 60000 } }\ndestinations:\n  out: { type: stdout, inputs: [d] }\n`)]
]

describe("dataflare schema", () => {
  it("schema/workflow.schema.json is up to date (npm run schema writes it)", async () => {
    const generated = await Effect.runPromise(text.pipe(Effect.provide(Builtins.layer)))
    assert.strictEqual(committed, generated, "run `npm run schema` and commit schema/workflow.schema.json")
  })

  it("is a valid draft 2020-12 schema, with every built-in type a file can configure", () => {
    assert.isTrue(ajv.validateSchema(schema), ajv.errorsText(ajv.errors))
    const defs = schema.$defs
    assert.isObject(defs)
    for (const type of ["csv", "ndjson", "memory", "generator", "postgres", "postgres-cdc"]) assert.property(defs, `source.${type}`)
    for (const type of ["csv", "ndjson", "stdout", "collect", "postgres"]) assert.property(defs, `sink.${type}`)
    for (const type of ["filter", "map", "select", "rename", "aggregate", "dedupe", "worker_map"]) {
      assert.property(defs, `processor.${type}`)
    }
    // configured only by functions or Effect values: not writable in a file
    for (const key of ["processor.process", "processor.via", "processor.flat_map", "source.stream", "sink.stream"]) {
      assert.notProperty(defs, key)
    }
  })

  const workflows = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".yaml") && !f.endsWith(".test.yaml"))
  it("accepts every example workflow", () => {
    assert.isAbove(workflows.length, 5)
    for (const name of workflows) {
      assert.strictEqual(schemaErrors(readFileSync(join(root, "examples", name), "utf8")), "", `examples/${name}`)
    }
  })

  for (const [what, yaml] of invalid) {
    it.effect(`refuses ${what}, as validate does`, () =>
      Effect.gen(function*() {
        const exit = yield* validate(yaml)
        assert.isTrue(Exit.isFailure(exit), `validate accepts it:\n${yaml}`)
        assert.notStrictEqual(schemaErrors(yaml), "", `the schema accepts it:\n${yaml}`)
      }))
  }

  for (const [what, yaml] of valid) {
    it.effect(`accepts ${what}, as validate does`, () =>
      Effect.gen(function*() {
        const exit = yield* validate(yaml)
        assert.isTrue(Exit.isSuccess(exit), `validate refuses it:\n${yaml}\n${String(exit)}`)
        assert.strictEqual(schemaErrors(yaml), "", yaml)
      }))
  }

  it.live("the command prints the committed schema; validate refuses what the schema refuses", () =>
    Effect.gen(function*() {
      const printed = yield* cli(["schema"])
      assert.strictEqual(printed.stderr, "")
      assert.strictEqual(printed.status, 0)
      assert.strictEqual(printed.stdout, committed)
      const dir = yield* tempDir
      const file = join(dir, "wf.yaml")
      yield* Effect.promise(() =>
        import("node:fs/promises").then((fs) =>
          fs.writeFile(file, frame("destinations:\n  out: { type: stdout, inputs: [src], config: { format: xml } }\n"))
        )
      )
      const validated = yield* cli(["validate", file])
      assert.strictEqual(validated.status, 1)
      assert.match(validated.stderr, /destinations\.out\.config\.format/)
    }))
})
