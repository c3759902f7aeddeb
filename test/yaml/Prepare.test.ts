// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow texts contain ${VAR} references
/**
 * The loader's source map as `Runtime.prepare` uses it: errors found with the registry (unknown
 * types, config decode errors, expression errors, unknown inputs) point at the right place of the
 * YAML file. Uses small definitions of its own, so it depends on the core interfaces only.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import { formatIssue } from "../../src/Errors.ts"
import * as Processor from "../../src/Processor.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import { generated, listSink } from "../runtime/support.ts"

const Count = generated({
  type: "count",
  description: "records { n } for n in [0, to)",
  config: Schema.Struct({ to: Schema.Int }),
  count: (config) => config.to,
  record: (n) => ({ n })
})

const sinks = new Map<string, Array<unknown>>()
const Keep = listSink("keep", "keeps records in memory under a name", sinks)

/** `mod: "n % k"`: keeps records whose n is a multiple of k; anything else is a config issue at a column. */
const Multiple = Processor.define({
  type: "multiple",
  description: "keeps multiples",
  config: Schema.Struct({ of: Schema.String }),
  make: (config) => {
    const m = /^n % (\d+)$/.exec(config.of)
    if (m === null) {
      const column = config.of.indexOf("?") + 1
      return Processor.configIssue(["of"], "unexpected '?'", column > 0 ? column : undefined)
    }
    const k = Number(m[1])
    return Processor.stateless({ _tag: "filter", f: (r) => (r as { n: number }).n % k === 0 })
  }
})

const registry = Registry.layer([Count, Keep, Multiple])

describe("YAML + Runtime.prepare", () => {
  it.effect("registry errors are reported at the key in the file", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(
        `name: located
sources:
  nums:
    type: count
    config:
      to: "ten"
transformations:
  thirds:
    type: multiple
    inputs: [numz]
    config:
      of: "n ? 3"
  other:
    type: multple
    inputs: [nums]
destinations:
  out:
    type: keep
    inputs: [thirds, other]
    config: {}
`,
        { file: "wf.yaml", env: {} }
      )
      const error = yield* Effect.flip(Runtime.prepare(graph))
      const lines = error.issues.map(formatIssue)
      assert.deepStrictEqual(lines, [
        "wf.yaml:6:7 sources.nums.config.to: Expected number",
        "wf.yaml:12:7 transformations.thirds.config.of: unexpected '?' (column 3 of the value)",
        "wf.yaml:14:5 transformations.other.type: unknown transformation type 'multple' (did you mean 'multiple'?); known: multiple",
        // a missing required config key is reported at the node's `config:` key (nearest ancestor)
        "wf.yaml:20:5 destinations.out.config.name: Missing key",
        "wf.yaml:10:14 transformations.thirds.inputs[0]: unknown input 'numz' (did you mean 'nums'?)"
      ])
      // and the column inside the expression can be found exactly
      const map = graph.sourceMap as Yaml.YamlSourceMap
      assert.deepStrictEqual(map.locateValue("thirds", ["config", "of"], 3), { file: "wf.yaml", line: 12, column: 14 })
      assert.deepStrictEqual(map.locateValue("thirds", ["config", "of"]), { file: "wf.yaml", line: 12, column: 11 })
    }).pipe(Effect.provide(registry)))

  it.effect("a valid YAML workflow runs end to end", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(
        `name: thirds
execution: { batch_size: 7 }
sources:
  nums:
    type: count
    config:
      to: \${TO:-30}
transformations:
  thirds: { type: multiple, inputs: [nums], config: { of: "n % 3" } }
destinations:
  out: { type: keep, inputs: [thirds], config: { name: yaml-e2e } }
`,
        { file: "wf.yaml", env: {} }
      )
      const summary = yield* Runtime.run(graph)
      assert.deepStrictEqual(sinks.get("yaml-e2e"), [0, 3, 6, 9, 12, 15, 18, 21, 24, 27].map((n) => ({ n })))
      assert.deepStrictEqual(
        summary.nodes.map((n) => [n.id, n.recordsIn, n.recordsOut]),
        [["nums", 0, 30], ["thirds", 30, 10], ["out", 10, 10]]
      )
    }).pipe(Effect.provide(registry)))

  it.effect("locateValue: the exact column inside quoted and plain one-line values", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(
        "name: x\nsources:\n  a:\n    type: count\n    config:\n      q: 'ab cd'\n      p: ab cd\n      e: \"a\\tb?\"\n      m: |\n        line one\ndestinations:\n  b: { type: keep, inputs: [a] }\n",
        { file: "w.yaml", env: {} }
      )
      const map = graph.sourceMap as Yaml.YamlSourceMap
      assert.deepStrictEqual(map.locateValue("a", ["config", "q"], 4), { file: "w.yaml", line: 6, column: 14 })
      assert.deepStrictEqual(map.locateValue("a", ["config", "p"], 4), { file: "w.yaml", line: 7, column: 13 })
      // an escape before the column: the value's start
      assert.deepStrictEqual(map.locateValue("a", ["config", "e"], 4), { file: "w.yaml", line: 8, column: 10 })
      // a block scalar: the value's start
      assert.deepStrictEqual(map.locateValue("a", ["config", "m"], 2), { file: "w.yaml", line: 9, column: 10 })
      assert.strictEqual(map.locateValue("a", ["config", "zz"]), undefined)
    }).pipe(Effect.provide(registry)))
})
