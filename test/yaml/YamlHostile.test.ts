/**
 * Hostile workflow files (issue 21): an alias bomb, deep nesting, a huge file, a binary file,
 * control characters — each refused with a DefinitionError at a location, never a raw
 * `ReferenceError` or a stack overflow; and control characters from a file never reach a message
 * unescaped.
 */
import { writeFileSync } from "node:fs"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import { DefinitionError, escapeControl, formatIssue, RecordError } from "../../src/Errors.ts"

/** The formatted issues of loading `text` (the test fails when it loads). */
const issuesOf = (text: string, file = "w.yaml") =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Yaml.parse(text, { file, env: {} }))
    if (Exit.isSuccess(exit)) return assert.fail("expected a DefinitionError")
    const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
    assert.isDefined(reason, `a typed failure, not a defect: ${String(exit.cause)}`)
    const error = reason?._tag === "Fail" ? reason.error : undefined
    assert.instanceOf(error, DefinitionError)
    return (error as DefinitionError).issues.map(formatIssue)
  })

const workflow = (config: string) =>
  `name: w\nsources:\n  in:\n    type: csv\n    config: ${config}\ndestinations:\n  out: { type: ndjson, inputs: [in], config: { path: o.ndjson } }\n`

const bomb = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  ...["b", "c", "d", "e", "f", "g", "h", "i"].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefgh"[i]}`).join(",")}]`)
]

describe("YAML loader, hostile files", () => {
  it.effect("an alias bomb is a definition error at the value, not a ReferenceError", () =>
    Effect.gen(function*() {
      const text = `name: w\nsources:\n  in:\n    type: csv\n    config:\n${bomb.map((l) => `      ${l}`).join("\n")}\ndestinations: {}\n`
      const issues = yield* issuesOf(text)
      assert.include(issues.join("\n"), "w.yaml:5:5 sources.in.config: this value expands its aliases (*name) more than 1000 times")
    }))

  it.effect("a bomb in execution is refused the same way", () =>
    Effect.gen(function*() {
      const text = `name: w\nexecution:\n  batch_size:\n${bomb.map((l) => `    ${l}`).join("\n")}\n`
      const issues = yield* issuesOf(text)
      assert.isTrue(issues.some((i) => i.includes("execution.batch_size: this value expands its aliases")), issues.join("\n"))
      // a value quoted in a message is cut to a readable length
      const long = yield* issuesOf(`name: w\nx: &x [${Array(40).fill("1").join(",")}]\nexecution:\n  batch_size: [${Array(40).fill("*x").join(",")}]\n`)
      const batch = long.find((i) => i.includes("execution.batch_size"))
      assert.isDefined(batch)
      assert.isBelow(batch!.length, 700)
      assert.include(batch!, "more characters)")
    }))

  it.effect("nesting beyond what a workflow needs is refused with a location, however deep", () =>
    Effect.gen(function*() {
      for (const depth of [100, 2_000, 100_000]) {
        const issues = yield* issuesOf(workflow(`${"[".repeat(depth)}${"]".repeat(depth)}`))
        assert.strictEqual(issues.length, 1)
        assert.match(issues[0], /^w\.yaml:5:\d+: .*nested/)
      }
      // block style too
      const block = Array.from({ length: 80 }, (_, i) => `${"  ".repeat(i + 2)}k${i}:`).join("\n")
      const issues = yield* issuesOf(`name: w\nsources:\n${block} 1\n`)
      assert.match(issues[0], /^w\.yaml:\d+:\d+: mappings and lists are nested more than 64 levels/)
    }))

  it.effect("a huge text, control characters and NUL bytes are refused before parsing", () =>
    Effect.gen(function*() {
      const huge = yield* issuesOf(`name: w\n# ${"x".repeat(5 * 1024 * 1024)}\n`)
      assert.include(huge[0], "w.yaml:1:1: the file holds")
      const nul = yield* issuesOf("name: w\nsources:\n  a\u0000b: 1\n")
      assert.strictEqual(nul[0], "w.yaml:3:4: the file holds control character U+0000 here, which YAML does not allow (is it a YAML workflow, or a binary file?)")
    }))

  it.effect("a binary or non-UTF-8 file is refused at its line by Yaml.load", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "dataflare-yaml-"))),
      (dir) =>
        Effect.gen(function*() {
          const path = join(dir, "w.yaml")
          writeFileSync(path, Buffer.concat([Buffer.from("name: w\nsources:\n  caf"), Buffer.from([0xe9]), Buffer.from(": 1\n")]))
          const exit = yield* Effect.exit(Yaml.load(path))
          assert.isTrue(Exit.isFailure(exit))
          const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
          const text = error?._tag === "Fail" ? (error.error as DefinitionError).issues.map(formatIssue).join("\n") : ""
          assert.strictEqual(text, `${path}:3:6: the file is not UTF-8 text here (is it a YAML workflow, or a binary file?)`)
        }),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    ))

  it("control characters from an input are escaped in every message", () => {
    assert.strictEqual(escapeControl("plain text\twith tab"), "plain text\twith tab")
    assert.strictEqual(escapeControl("a\nb\r\u001b[31mred\u0085\u2028"), "a\\nb\\r\\x1B[31mred\\x85\\u2028")
    const error = new RecordError({ detail: "bad \u001b[2J value", location: { file: "in.csv", line: 2, column: 1 }, field: "na\nme" })
    assert.strictEqual(error.message, "in.csv:2:1: field 'na\\nme': bad \\x1B[2J value")
    assert.strictEqual(
      formatIssue({ path: "sources.\u001b]0;pwned\u0007", message: "unknown key", location: { file: "w.yaml", line: 1, column: 1 } }),
      "w.yaml:1:1 sources.\\x1B]0;pwned\\x07: unknown key"
    )
  })
})
