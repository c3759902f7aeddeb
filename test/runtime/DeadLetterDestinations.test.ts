/**
 * Dead letters sent to a destination (`dead_letter: { to: <sink> }` on a transformation): the
 * records a processor sets aside reach that sink as envelopes (node, at, tag, source, position,
 * error, record) through the data flow; the plan shows the edge, the summary counts them; what
 * cannot work is refused before anything runs, naming the node and key.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as PlanFormat from "../../src/PlanFormat.ts"
import * as Runtime from "../../src/Runtime.ts"
import { tempDir } from "../connectors/csv/support.ts"
import { amountMustBeNumber, fakeElasticsearch } from "../connectors/elasticsearch/fakeServer.ts"
import { ndjsonRows } from "./ndjsonRuns.ts"

const input = (dir: string) =>
  writeFileSync(
    join(dir, "in.ndjson"),
    [{ id: 1, amount: 5 }, { id: 2, amount: "lots" }, { id: 3, amount: 50 }, { id: 4, amount: 12 }, { id: 5, amount: null }, { id: 6, amount: [1] }]
      .map((r) => JSON.stringify(r)).join("\n") + "\n"
  )

const workflow = (dir: string, parallelism = 1, extra: ReadonlyArray<string> = []) =>
  [
    "name: dead-letter-destinations",
    `execution: { batch_size: 2, parallelism: ${parallelism} }`,
    "sources:",
    `  input: { type: ndjson, config: { path: ${join(dir, "in.ndjson")} } }`,
    "transformations:",
    "  big: { type: filter, inputs: [input], config: { condition: \"amount > 10\" }, on_error: dead_letter, dead_letter: { to: rejects } }",
    "  double: { type: map, inputs: [big], config: { fields: { twice: \"amount * 2\" } } }",
    "destinations:",
    `  out: { type: ndjson, inputs: [double], config: { path: ${join(dir, "out.ndjson")} } }`,
    `  rejects: { type: ndjson, inputs: [], config: { path: ${join(dir, "rejects.ndjson")} } }`,
    ...extra
  ].join("\n")

const prepareIssues = (text: string) =>
  Effect.gen(function*() {
    const graph = yield* Yaml.parse(text, { file: "wf.yaml", env: {} })
    return (yield* Effect.flip(Runtime.prepare(graph))).message
  }).pipe(Effect.provide(Builtins.layer))

describe("dead letters sent to a destination (dead_letter: { to })", () => {
  for (const parallelism of [1, 3]) {
    it.live(`a filter's bad records reach the ndjson destination as envelopes, the others go on (parallelism ${parallelism})`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        input(dir)
        const graph = yield* Yaml.parse(workflow(dir, parallelism), { file: "wf.yaml", env: {} })
        const plan = PlanFormat.text(Runtime.plan(yield* Runtime.prepare(graph)))
        assert.include(plan, "dead letters of big → destination rejects (ndjson)")
        assert.include(plan, "sink: rejects (ndjson)")
        assert.include(plan, "reads dead letters of big")
        const summary = yield* Runtime.run(graph)
        const out = ndjsonRows(join(dir, "out.ndjson")).map((r) => [r.id, r.twice]).sort((a, b) => Number(a[0]) - Number(b[0]))
        assert.deepStrictEqual(out, [[3, 100], [4, 24]])
        const letters = ndjsonRows(join(dir, "rejects.ndjson")).sort((a, b) => (a.record as { id: number }).id - (b.record as { id: number }).id)
        assert.deepStrictEqual(letters.map((e) => (e.record as { id: number }).id), [2, 6])
        for (const e of letters) {
          assert.deepStrictEqual(Object.keys(e), ["node", "at", "tag", "source", "position", "error", "detail", "record"])
          assert.isNull(e.detail)
          assert.strictEqual(e.node, "big")
          assert.strictEqual(e.tag, "RecordError")
          assert.strictEqual(e.source, "input")
          assert.isNotNull(e.position)
          assert.include(String(e.error), "amount > 10")
        }
        assert.strictEqual(summary.nodes.find((n) => n.id === "big")?.deadLetters, 2)
        assert.strictEqual(summary.nodes.find((n) => n.id === "rejects")?.recordsIn, 2)
      }).pipe(Effect.provide(Builtins.layer))))
  }

  it.effect("refused before anything runs, naming the node and key", () =>
    Effect.gen(function*() {
      const base = (letters: string, rejects = "inputs: []") =>
        [
          "name: x",
          "sources: { input: { type: ndjson, config: { path: a.ndjson } } }",
          "transformations:",
          `  big: { type: filter, inputs: [input], config: { condition: "amount > 10" }, on_error: dead_letter, dead_letter: ${letters} }`,
          "destinations:",
          "  out: { type: ndjson, inputs: [big], config: { path: b.ndjson } }",
          `  rejects: { type: ndjson, ${rejects}, config: { path: c.ndjson } }`
        ].join("\n")
      assert.include(
        yield* prepareIssues(base("{ to: rejcts }")),
        "transformations.big.dead_letter.to: unknown destination 'rejcts' (did you mean 'rejects'?); destinations: out, rejects"
      )
      assert.include(
        yield* prepareIssues(base("{ to: input }")),
        "transformations.big.dead_letter.to: 'input' is a source; dead letters go to a destination (a node under destinations)"
      )
      assert.include(
        yield* prepareIssues(base("{ to: rejects }", "inputs: [big]")),
        "destinations.rejects.inputs: destination 'rejects' takes the dead letters of 'big' (envelopes: node, at, tag, source, position, error, detail, record), so it reads nothing else; set inputs: [] and write 'big' to another destination"
      )
      assert.include(
        yield* prepareIssues(base("{ to: out }", "inputs: [big]")),
        "destination 'out' takes the dead letters of 'big'"
      )
      // a destination of no one's dead letters still needs an input
      assert.include(
        yield* prepareIssues(base("{ path: d.ndjson }")),
        "destinations.rejects.inputs: a destination needs at least one input"
      )
      // a sink's config.dead_letter.to: not itself, no cycle between destinations
      const pgSink = (id: string, to: string, inputs: string) =>
        `  ${id}: { type: postgres, inputs: ${inputs}, config: { connection_string: "postgres://127.0.0.1/x", table: ${id}, on_error: dead_letter, dead_letter: { to: ${to} } } }`
      const sinks = (...lines: ReadonlyArray<string>) =>
        ["name: x", "sources: { input: { type: ndjson, config: { path: a.ndjson } } }", "destinations:", ...lines].join("\n")
      assert.include(
        yield* prepareIssues(sinks(pgSink("t", "t", "[input]"))),
        "destinations.t.config.dead_letter.to: 't' is this destination itself: its dead letters go to another destination"
      )
      assert.include(
        yield* prepareIssues(sinks(pgSink("t", "u", "[input]"), pgSink("u", "v", "[]"), pgSink("v", "u", "[]"))),
        "the workflow has a cycle: u -> v -> u"
      )
      assert.include(
        yield* prepareIssues(sinks(pgSink("t", "nope", "[input]"))),
        "destinations.t.config.dead_letter.to: unknown destination 'nope'"
      )
      // a destination named without on_error: dead_letter
      assert.include(
        yield* prepareIssues(base("{ to: rejects }").replace(", on_error: dead_letter", "")),
        "transformations.big.dead_letter: dead_letter: { to } sends the records that on_error: dead_letter sets aside; set on_error: dead_letter, or remove dead_letter"
      )
      assert.include(
        yield* prepareIssues(sinks(pgSink("t", "u", "[input]").replace("on_error: dead_letter, ", ""), "  u: { type: ndjson, inputs: [], config: { path: u.ndjson } }")),
        "destinations.t.config.dead_letter: dead_letter: { to } sends the records"
      )
      const yamlError = yield* Effect.flip(Yaml.parse(base("{ to: rejects, path: d.ndjson }"), { file: "wf.yaml", env: {} }))
      assert.include(yamlError.message, "transformations.big.dead_letter.path: unknown key 'path' (dead_letter has either to, or path and max_bytes)")
    }))
})

describe("a kit sink's dead letters to a destination (elasticsearch over the HTTP fake)", () => {
  it.live("documents the mapping refuses reach the ndjson destination with their status and reason in detail", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeElasticsearch({ decide: amountMustBeNumber })
      input(dir)
      const text = [
        "name: es-dead-letters",
        "execution: { batch_size: 2 }",
        "sources:",
        `  input: { type: ndjson, config: { path: ${join(dir, "in.ndjson")} } }`,
        "destinations:",
        "  search:",
        "    type: elasticsearch",
        "    inputs: [input]",
        `    config: { node: "${fake.url}", index: orders, id_field: id, on_error: dead_letter, dead_letter: { to: rejects } }`,
        `  rejects: { type: ndjson, inputs: [], config: { path: ${join(dir, "rejects.ndjson")} } }`
      ].join("\n")
      const graph = yield* Yaml.parse(text, { file: "wf.yaml", env: {} })
      assert.include(PlanFormat.text(Runtime.plan(yield* Runtime.prepare(graph))), "dead letters → destination rejects (ndjson)")
      const summary = yield* Runtime.run(graph)
      // "lots", null and [1] are not numbers
      assert.strictEqual(fake.indices.get("orders")!.size, 3)
      const letters = ndjsonRows(join(dir, "rejects.ndjson")).sort((a, b) => (a.record as { id: number }).id - (b.record as { id: number }).id)
      assert.deepStrictEqual(letters.map((e) => (e.record as { id: number }).id), [2, 5, 6])
      const [e] = letters
      assert.strictEqual(e.node, "search")
      assert.strictEqual(e.source, "input")
      assert.isNotNull(e.position)
      assert.include(String(e.error), "failed to parse field [amount]")
      assert.deepInclude(e.detail as object, { index: "orders", id: "2", status: 400 })
      assert.strictEqual(summary.nodes.find((n) => n.id === "search")?.deadLetters, 3)
    }).pipe(Effect.provide(Builtins.layer))))
})
