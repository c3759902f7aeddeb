/**
 * Every TypeScript block of README.md and docs/ compiles (scripts/docBlocks.ts), and the check
 * itself finds a wrong block, places its error in the Markdown, and refuses an included block that
 * differs from its file.
 */
import { resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { blocksOf, check, extract } from "../../scripts/docBlocks.ts"

const root = resolve(import.meta.dirname, "../..")

describe("docs code blocks", () => {
  it.live("every TypeScript block of README.md and docs/ compiles", () =>
    Effect.gen(function*() {
      const blocks = extract(root)
      assert.isAtLeast(blocks.length, 40)
      const problems = yield* Effect.promise(() => check(root, blocks))
      assert.deepStrictEqual(problems.map((p) => `${p.doc}:${p.line}:${p.column}: ${p.message}`), [])
    }))

  it.live("a wrong block is reported at its line in the Markdown; preludes and postludes give context", () =>
    Effect.gen(function*() {
      const text = [
        "# Fake", //                                           1
        "", //                                                 2
        "<!-- prelude", //                                     3
        'import { Memory, Pipeline } from "dataflare/dsl"', // 4
        "-->", //                                              5
        "```ts", //                                            6
        'const p = Pipeline.from("in", Memory.source({ records: [{ id: 1 }] }))', // 7
        '  .filter("f", (r) => r.idd > 0)', //                8
        "```", //                                              9
        "", //                                                10
        "```ts", //                                           11
        "const n: number = 1", //                             12
        "```" //                                              13
      ].join("\n")
      const blocks = blocksOf("docs/fake.md", text)
      assert.lengthOf(blocks, 2)
      const problems = yield* Effect.promise(() => check(root, blocks))
      assert.lengthOf(problems, 1)
      assert.strictEqual(problems[0].doc, "docs/fake.md")
      assert.strictEqual(problems[0].line, 8)
      assert.include(problems[0].message, "Property 'idd' does not exist")
    }))

  it.live("an included block must equal its region of the file", () =>
    Effect.gen(function*() {
      const text = [
        "<!-- include examples/connector/Counter.ts#specs -->",
        "```ts",
        "export const counter = (config: { readonly from: number; readonly to: number }) =>",
        '  Spec.source<{ readonly n: number }>("counter", config)',
        "```",
        "<!-- include examples/connector/Counter.ts#nowhere -->",
        "```ts",
        "```"
      ].join("\n")
      const problems = yield* Effect.promise(() => check(root, blocksOf("docs/fake.md", text)))
      assert.lengthOf(problems, 2)
      assert.strictEqual(problems[0].line, 5)
      assert.include(problems[0].message, "differs from examples/connector/Counter.ts#specs")
      assert.include(problems[1].message, "has no region 'nowhere'")
    }))
})
