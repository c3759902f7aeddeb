// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow texts contain ${VAR} references
/**
 * `dataflare test`: config unit tests beside a workflow, run through the real CLI process —
 * passing and failing cases (the diff), a failing run, problems of the tests file at their
 * `file:line:column`, and that a test neither reads a real input nor writes a real destination.
 * The diff itself is checked in process.
 */
import { existsSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { compare, renderDiff } from "../../dsl/cli/internal/unitTest/compare.ts"
import { defaultTestsFile } from "../../dsl/cli/internal/unitTest/runner.ts"
import { cli, tempDir } from "./support.ts"

const write = (path: string, text: string) => Effect.promise(() => writeFile(path, text))

const example = resolve(import.meta.dirname, "../../examples/csv-to-ndjson.yaml")

/** A workflow whose real input does not exist and whose real output must never appear. */
const workflow = (dir: string) => `name: unit
execution: { batch_size: 2, parallelism: 1 }
sources:
  orders:
    type: csv
    config: { path: ${join(dir, "missing.csv")}, columns: { id: integer, amount: number } }
transformations:
  large:
    type: filter
    inputs: [orders]
    config: { condition: "amount >= 100" }
  doubled:
    type: map
    inputs: [large]
    parallelism: 2
    config: { fields: { amount: "amount * 2" } }
destinations:
  out:
    type: ndjson
    inputs: [doubled]
    config: { path: ${join(dir, "out.ndjson")} }
  everything:
    type: csv
    inputs: [orders]
    config: { path: ${join(dir, "everything.csv")} }
`

describe("dataflare test", () => {
  it.live("the example's tests pass (exit 0), one line per test and a count", () =>
    Effect.gen(function*() {
      const result = yield* cli(["test", example])
      assert.strictEqual(result.status, 0, result.stderr)
      const lines = result.stdout.trimEnd().split("\n")
      assert.deepStrictEqual(lines.map((l) => l.split("  ")[0]), ["PASS", "PASS", "PASS", "PASS", "4 tests: 4 passed, 0 failed"])
      assert.match(lines[0], /^PASS {2}keeps the large active orders, reshaped {2}\(.*examples\/csv-to-ndjson\.test\.yaml:11:5\)$/)
      assert.strictEqual(result.stderr, "")
    }), 120_000)

  it.live("the graph example's tests pass: fan-in, a keyed windowed aggregate on two instances and its late side output", () =>
    Effect.gen(function*() {
      const result = yield* cli(["test", resolve(import.meta.dirname, "../../examples/graph-orders.yaml")])
      assert.strictEqual(result.status, 0, result.stdout + result.stderr)
      assert.match(result.stdout, /\n3 tests: 3 passed, 0 failed\n$/)
    }), 120_000)

  it.live("a failing test prints the diff and exits 1; no real input is read and no destination written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "wf.yaml"), workflow(dir))
      yield* write(
        join(dir, "wf.test.yaml"),
        `tests:
  - name: passes, in any order
    ordered: false
    inputs:
      orders: [{ id: 1, amount: 100 }, { id: 2, amount: 5 }, { id: 3, amount: 300 }, { id: 4, amount: 200 }, { id: 5, amount: 150 }]
    expect:
      out: [{ id: 5, amount: 300 }, { id: 1, amount: 200 }, { id: 4, amount: 400 }, { id: 3, amount: 600 }]
  - name: the map alone, fed directly, compared on the fields named
    match: subset
    inputs:
      doubled: [{ id: 7, amount: 1.5, note: kept }]
    expect:
      doubled: [{ amount: 3, id: 7 }]
  - name: wrong on purpose
    inputs:
      large: [{ id: 1, amount: 100 }, { id: 2, amount: 99 }, { id: 3, amount: 7 }, { id: 4, amount: 120 }]
    expect:
      out: [{ id: 1, amount: 200 }, { id: 2, amount: 198 }, { id: 4, amount: 240 }]
      large: [{ id: 1, amount: 100 }, { id: 4, amount: 120 }]
  - name: a record the expression cannot compute
    inputs:
      orders: [{ id: 1, amount: "lots" }]
    expect:
      everything: [{ id: 1, amount: "lots" }]
      out: []
  - name: the same record, expected to fail there
    inputs:
      orders: [{ id: 1, amount: "lots" }]
    expect_error: { node: large, message: "cannot compare string 'lots'" }
  - name: expected to fail, and it does not
    inputs:
      orders: [{ id: 1, amount: 5 }]
    expect_error: { node: large }
`
      )
      const result = yield* cli(["test", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.status, 1, result.stderr)
      const out = result.stdout
      assert.match(out, /^PASS {2}passes, in any order {2}\(wf\.test\.yaml:2:5\)\n/)
      assert.match(out, /\nPASS {2}the map alone, fed directly, compared on the fields named {2}\(wf\.test\.yaml:8:5\)\n/)
      assert.include(
        out,
        [
          "FAIL  wrong on purpose  (wf.test.yaml:14:5)",
          "      out: 3 records expected, 2 received (- expected, + received)",
          '          {"amount":200,"id":1}',
          '        - {"amount":198,"id":2}',
          '          {"amount":240,"id":4}',
          ""
        ].join("\n")
      )
      assert.notInclude(out, "large: ", "the filter's own output matched")
      assert.match(
        out,
        /\nFAIL {2}a record the expression cannot compute {2}\(wf\.test\.yaml:20:5\)\n {6}the run failed: node 'large' failed: wf\.yaml:11:34 transformations\.large\.config\.condition: .*cannot compare string 'lots'/
      )
      assert.match(out, /\nPASS {2}the same record, expected to fail there {2}\(wf\.test\.yaml:26:5\)\n/)
      assert.match(out, /\nFAIL {2}expected to fail, and it does not {2}\(wf\.test\.yaml:30:5\)\n {6}expected node 'large' to fail; the run completed\n/)
      assert.match(out, /\n6 tests: 3 passed, 3 failed\n$/)
      assert.strictEqual(result.stderr, "error: 3 of 6 tests in wf.test.yaml failed\n")
      for (const file of ["out.ndjson", "everything.csv"]) assert.isFalse(existsSync(join(dir, file)), `${file} was not written`)
    }), 120_000)

  it.live("problems of the tests file name file:line:column and the key; nothing runs", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "wf.yaml"), workflow(dir))
      yield* write(
        join(dir, "shape.yaml"),
        `tests:
  - name: a
    expect:
      out: [ 3 ]
    extra: 1
  - name: a
    inputs: { large: [] }
    expect: { out: [] }
`
      )
      yield* write(
        join(dir, "ids.yaml"),
        `tests:
  - name: fine
    inputs: { large: [] }
    expect: { out: [] }
  - name: typo
    inputs:
      ordrs: [{ id: 1 }]
      out: []
    expect:
      large: []
  - name: reads a real input
    expect: { doubled: [] }
  - name: records that go nowhere
    inputs: { orders: [], doubled: [] }
    expect: { out: [] }
`
      )
      yield* write(join(dir, "syntax.yaml"), "tests: [\n")
      const [shape, ids, missing, invalid, syntax, directory] = yield* Effect.all([
        cli(["test", "wf.yaml", "--tests", "shape.yaml"], { cwd: dir }),
        cli(["test", "wf.yaml", "-t", "ids.yaml"], { cwd: dir }),
        cli(["test", "wf.yaml"], { cwd: dir }),
        cli(["test", "shape.yaml", "--tests", "ids.yaml"], { cwd: dir }),
        cli(["test", "wf.yaml", "-t", "syntax.yaml"], { cwd: dir }),
        cli(["test", "wf.yaml", "-t", "."], { cwd: dir })
      ], { concurrency: 2 })
      assert.strictEqual(shape.status, 1)
      assert.strictEqual(shape.stdout, "")
      assert.strictEqual(
        shape.stderr,
        [
          "shape.yaml:4:14 tests[0].expect.out[0]: expected a record (a mapping of field → value)",
          "shape.yaml:5:5 tests[0].extra: unknown key (a test has name, inputs, expect, expect_error, ordered, match)",
          "shape.yaml:6:11 tests[1].name: a second test named 'a' (test 1 has it)",
          "invalid: shape.yaml (3 problems)",
          ""
        ].join("\n")
      )
      assert.strictEqual(ids.status, 1)
      assert.strictEqual(ids.stdout, "", "no test ran, not even the fine one")
      assert.strictEqual(
        ids.stderr,
        [
          "ids.yaml:7:7 tests[1].inputs.ordrs: no node 'ordrs' in the workflow (nodes: orders, large, doubled, out, everything)",
          "ids.yaml:8:7 tests[1].inputs.out: 'out' is a destination: give records to a source or a transformation",
          "ids.yaml:11:5 tests[2].inputs: the checked nodes read from source 'orders': give its records in inputs.orders (write [] for none; a test never reads a real input)",
          "ids.yaml:14:15 tests[3].inputs.orders: no node of 'expect' reads from 'orders' (through the workflow's inputs): these records would go nowhere",
          "invalid: ids.yaml (4 problems)",
          ""
        ].join("\n")
      )
      assert.strictEqual(missing.status, 1)
      assert.match(missing.stderr, /^error: no tests file wf\.test\.yaml: write the tests beside the workflow/)
      assert.strictEqual(invalid.status, 1, "a tests file given as the workflow is an invalid workflow")
      assert.match(invalid.stderr, /^shape\.yaml:1:1 tests: unknown key/m)
      assert.strictEqual(syntax.status, 1)
      assert.match(syntax.stderr, /^syntax\.yaml:2:1: YAML: .*\ninvalid: syntax\.yaml \(1 problem\)\n$/)
      assert.strictEqual(directory.status, 1)
      assert.strictEqual(directory.stderr, "error: cannot read the tests file .: is a directory\n")
    }), 120_000)

  it.live("env in the tests file gives the workflow's ${VAR} references their values", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const wf = "name: env\nsources:\n  in: { type: ndjson, config: { path: \"${IN_DIR}/in.ndjson\" } }\n" +
        "destinations:\n  out: { type: stdout, inputs: [in], config: { format: \"${FORMAT}\" } }\n"
      yield* write(join(dir, "wf.yaml"), wf)
      const tests = "tests:\n  - name: passes through\n    inputs: { in: [{ a: 1 }] }\n    expect: { out: [{ a: 1 }] }\n"
      yield* write(join(dir, "with.yaml"), `env:\n  IN_DIR: /nonexistent\n  FORMAT: csv\n${tests}`)
      yield* write(join(dir, "without.yaml"), tests)
      const [withEnv, without] = yield* Effect.all([
        cli(["test", "wf.yaml", "-t", "with.yaml"], { cwd: dir, env: { FORMAT: "xml" } }),
        cli(["test", "wf.yaml", "-t", "without.yaml"], { cwd: dir })
      ], { concurrency: 2 })
      assert.strictEqual(withEnv.status, 0, withEnv.stdout + withEnv.stderr)
      assert.match(withEnv.stdout, /^PASS {2}passes through/)
      assert.strictEqual(without.status, 1)
      assert.match(without.stderr, /^wf\.yaml:3:\d+ sources\.in\.config\.path: environment variable IN_DIR is not set/)
    }), 120_000)

  it.live("!!timestamp gives a Date, as a csv timestamp column reads it (UTC without an offset); one that does not exist is refused", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(
        join(dir, "wf.yaml"),
        "name: ts\nsources:\n  in: { type: csv, config: { path: in.csv, columns: { at: timestamp } } }\n" +
          "transformations:\n  later:\n    type: filter\n    inputs: [in]\n    config: { condition: \"to_string(at) > '2024-03-01T10:00:00Z'\" }\n" +
          "destinations:\n  out: { type: ndjson, inputs: [later], config: { path: out.ndjson } }\n"
      )
      yield* write(
        join(dir, "wf.test.yaml"),
        `tests:
  - name: dates
    inputs:
      in:
        - { id: 1, at: !!timestamp 2024-03-01 10:20, text: 2024-03-01 }
        - { id: 2, at: !!timestamp 2024-03-01T09:59:59Z }
        - { id: 3, at: !!timestamp 2024-03-01T12:00:00+02:00 }
    expect:
      later:
        - { id: 1, at: "2024-03-01T10:20:00.000Z", text: "2024-03-01" }
`
      )
      yield* write(join(dir, "bad.yaml"), "tests:\n  - name: x\n    inputs: { in: [{ at: !!timestamp 2024-02-30 }] }\n    expect: { out: [] }\n")
      const [good, bad] = yield* Effect.all([
        cli(["test", "wf.yaml"], { cwd: dir, env: { TZ: "America/New_York" } }),
        cli(["test", "wf.yaml", "-t", "bad.yaml"], { cwd: dir })
      ], { concurrency: 2 })
      assert.strictEqual(good.status, 0, good.stdout + good.stderr)
      assert.strictEqual(bad.status, 1)
      assert.strictEqual(
        bad.stderr,
        'bad.yaml:3:26: YAML: !!timestamp "2024-02-30": expected an ISO-8601 date or time (2024-03-01, 2024-03-01T10:20:30Z)\ninvalid: bad.yaml (1 problem)\n'
      )
    }), 120_000)

  it("the tests file beside a workflow, and the diff of records", () => {
    assert.strictEqual(defaultTestsFile("pipelines/orders.yaml"), "pipelines/orders.test.yaml")
    assert.strictEqual(defaultTestsFile("orders.YML"), "orders.test.YML")
    assert.strictEqual(defaultTestsFile("orders"), "orders.test.yaml")
    const at = new Date("2024-07-01T08:00:00.000Z")
    assert.isTrue(compare([{ b: 1, a: "2024-07-01T08:00:00.000Z", n: 12 }], [{ a: at, b: 1, n: 12n, gone: undefined }], true).equal)
    assert.isFalse(compare([{ n: "12" }], [{ n: 12 }], true).equal, "a string is not a number")
    assert.isFalse(compare([{ id: 1 }, { id: 2 }], [{ id: 2 }, { id: 1 }], true).equal)
    assert.isTrue(compare([{ id: 1 }, { id: 2 }], [{ id: 2 }, { id: 1 }], false).equal)
    assert.isFalse(compare([{ id: 1 }], [{ id: 1 }, { id: 1 }], false).equal, "a multiset counts duplicates")
    // subset: only the fields the expected record names
    assert.isTrue(compare([{ id: 1 }, { id: 2 }], [{ id: 1, at: at }, { id: 2, at: at }], true, "subset").equal)
    assert.isFalse(compare([{ id: 1, x: null }], [{ id: 1 }], true, "subset").equal, "a named field must be there")
    assert.isFalse(compare([{ id: 1 }], [{ id: 1 }, { id: 2 }], true, "subset").equal, "every received record is expected")
    // in any order, a general expected record must not take the only match of a specific one
    assert.isTrue(compare([{ a: 1 }, { a: 1, b: 2 }], [{ a: 1, b: 2 }, { a: 1, b: 3 }], false, "subset").equal)
    assert.deepStrictEqual(compare([{ a: 1, b: 2 }, { a: 2 }], [{ a: 1, b: 3 }, { a: 2, c: 1 }], false, "subset").diff, [
      { op: "-", text: '{"a":1,"b":2}' },
      { op: "+", text: '{"a":1,"b":3}' },
      { op: " ", text: '{"a":2}' }
    ])
    const expected = Array.from({ length: 20 }, (_, i) => ({ id: i }))
    const received = expected.map((r) => (r.id === 10 ? { id: 10, extra: true } : r))
    assert.deepStrictEqual(renderDiff(compare(expected, received, true).diff, ""), [
      "  ... 8 equal records",
      '  {"id":8}',
      '  {"id":9}',
      '- {"id":10}',
      '+ {"extra":true,"id":10}',
      '  {"id":11}',
      '  {"id":12}',
      "  ... 7 equal records"
    ])
  })
})
