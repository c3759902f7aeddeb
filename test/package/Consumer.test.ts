/**
 * The package as a user gets it: `npm pack`, installed into a fresh project with a strict
 * tsconfig (support/consumer.ts), then
 * - the tarball holds only what a user needs, and npm installs its dependencies as the repository
 *   has them (a nested copy of another version included);
 * - the user's program (fixtures/consumer/program.ts: a custom connector, a user processor needing
 *   a service, `dataflare`, `dataflare/dsl`, `dataflare/testing`) compiles with `tsc` under
 *   `moduleResolution` `nodenext` and `bundler`, runs under plain `node`, and runs bundled;
 *   DataFlare's declarations compile under those settings with `skipLibCheck: false` too;
 * - worker threads (a parallel CSV source, `worker_map`: fixtures/consumer/threads.ts) start from
 *   the compiled library;
 * - the installed `dataflare` binary runs a YAML workflow;
 * - wrong programs (fixtures/consumer/wrong/*.ts: misspelled fields in a step and in an
 *   expression, a select of a missing field, a duplicate node id, a sink that does not accept the
 *   records, an override of an unknown node, a bad duration, a service missing for `Pipeline.run`,
 *   for `Runtime.run` and for a stream source) fail to compile, each on the line marked
 *   `// error: <part of the message>` and for that reason only;
 * - `dataflare/testing` loads with no test framework installed, and internal modules are
 *   unreachable.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { delimiter, dirname, join } from "node:path"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { rolldown } from "rolldown"
import { exec, run } from "./support/commands.ts"
import { Consumer, layer as consumerLayer, root } from "./support/consumer.ts"
import { locate } from "./support/localDependencies.ts"

const tsc = join(root, "node_modules/typescript/bin/tsc")

/** The consumer's PATH: this Node first, so `#!/usr/bin/env node` finds Node >= 22. */
const env = { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}` }

/** What program.ts prints: the even numbers 2..1000 times 3. */
const expectedOutput = {
  workflow: "consumer",
  records: 500,
  total: 3 * 250_500,
  last: { n: 1000, scaled: 3000, label: "#1000" }
}

layer(consumerLayer, { timeout: "5 minutes" })("the npm package, installed in a user's project", (it) => {
  it.effect("the tarball holds the compiled entries, their declarations and sources, and nothing else", () =>
    Effect.gen(function*() {
      const { packed } = yield* Consumer
      const paths = packed.files.map((f) => f.path)
      const outside = paths.filter((p) =>
        !/^(dist\/(src|dsl)\/|dist\/(dataflare|cli)\.mjs$|dist\/(chunks|workers)\/[^/]+\.mjs$|src\/|dsl\/|package\.json$|README\.md$)/.test(p)
      )
      assert.deepStrictEqual(outside, [], "only dist/, src/, dsl/, package.json and README.md")
      assert.deepStrictEqual(paths.filter((p) => /^(test|bench|property-tests|examples|scripts|\.ci|docs)\//.test(p) || p.startsWith("dsl/cli/")), [])
      for (const entry of ["src/index", "dsl/index", "src/testing/index", "src/testing/vitest"]) {
        for (const ext of [".js", ".js.map", ".d.ts", ".d.ts.map"]) assert.include(paths, `dist/${entry}${ext}`)
      }
      for (const file of ["dist/dataflare.mjs", "dist/cli.mjs", "dist/workers/runner.mjs", "dist/src/workers/internal/runner.js"]) {
        assert.include(paths, file)
      }
      // the maps point at the sources shipped beside dist/
      const { dir } = yield* Consumer
      const map = JSON.parse(readFileSync(join(dir, "node_modules/dataflare/dist/dsl/index.d.ts.map"), "utf8")) as {
        readonly sources: ReadonlyArray<string>
      }
      assert.deepStrictEqual(map.sources, ["../../dsl/index.ts"])
      assert.include(paths, "dsl/index.ts")
      // Catches a build that packs something big by mistake (it is about 1.4 MB, see README "Install").
      assert.isBelow(packed.size, 3_000_000, `tarball of ${packed.size} bytes`)
    }))

  it.effect("npm installs every dependency at the version the repository runs, nested copies of another version too", () =>
    Effect.gen(function*() {
      const { dependencies, dir } = yield* Consumer
      // e.g. mysql2 needs its own iconv-lite beside the hoisted one another client pins
      assert.isTrue(dependencies.some((p) => p.within.length > 0), "no dependency has a nested copy: this test checks nothing of them")
      for (const p of dependencies) {
        const from = join(dir, "node_modules", ...p.within.flatMap((name, i) => (i === 0 ? [name] : ["node_modules", name])))
        const found = locate(dir, p.name, from)
        const { version } = JSON.parse(readFileSync(join(found, "package.json"), "utf8")) as { readonly version: string }
        assert.strictEqual(version, p.version, `${[...p.within, p.name].join(" > ")}`)
      }
    }))

  it.effect("tsc (strict, nodenext) compiles the user's program, and plain node runs the output", () =>
    Effect.gen(function*() {
      const { dir } = yield* Consumer
      yield* run(process.execPath, [tsc, "-p", "tsconfig.json", "--pretty", "false"], { cwd: dir })
      const result = yield* run(process.execPath, ["out/program.js"], { cwd: dir, env })
      assert.deepStrictEqual(JSON.parse(result.stdout), expectedOutput)
    }))

  it.effect("worker threads start from the compiled library: a parallel CSV source and worker_map", () =>
    Effect.gen(function*() {
      const { dir } = yield* Consumer
      yield* run(process.execPath, [tsc, "-p", "tsconfig.json", "--pretty", "false"], { cwd: dir })
      const result = yield* run(process.execPath, ["out/threads.js"], { cwd: dir, env })
      assert.deepStrictEqual(JSON.parse(result.stdout), { records: 1000, first: 2000, last: 3998, onThreads: true })
    }))

  it.effect("tsc (strict, moduleResolution bundler) compiles the user's programs", () =>
    Effect.gen(function*() {
      const { dir } = yield* Consumer
      yield* run(process.execPath, [tsc, "-p", "tsconfig.bundler.json", "--pretty", "false"], { cwd: dir })
    }))

  it.effect("DataFlare's declarations compile under the user's strict settings (skipLibCheck: false)", () =>
    Effect.gen(function*() {
      const { dir } = yield* Consumer
      yield* run(process.execPath, [tsc, "-p", "tsconfig.libcheck.json", "--pretty", "false"], { cwd: dir })
    }))

  it.effect("a bundler (rolldown) bundles the user's program, and the bundle runs", () =>
    Effect.gen(function*() {
      const { dir } = yield* Consumer
      yield* Effect.promise(async () => {
        const bundle = await rolldown({ input: join(dir, "program.ts"), cwd: dir, platform: "node", logLevel: "silent" })
        await bundle.write({ file: join(dir, "bundle/program.mjs"), format: "esm", codeSplitting: false }).finally(() => bundle.close())
      })
      const result = yield* run(process.execPath, ["bundle/program.mjs"], { cwd: dir, env })
      assert.deepStrictEqual(JSON.parse(result.stdout), expectedOutput)
    }))

  it.effect("the installed dataflare binary runs a YAML workflow", () =>
    Effect.gen(function*() {
      const { dir } = yield* Consumer
      const rows = Array.from({ length: 300 }, (_, i) => `${i + 1},${i % 3 === 0 ? "inactive" : "active"},${i * 2}`)
      writeFileSync(join(dir, "orders.csv"), `id,status,amount\n${rows.join("\n")}\n`)
      const bin = join(dir, "node_modules/.bin/dataflare")
      const version = yield* run(bin, ["--version"], { cwd: dir, env })
      const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { readonly version: string }
      assert.strictEqual(version.stdout.trim(), `dataflare v${pkg.version}`)
      yield* run(bin, ["validate", "workflow.yaml"], { cwd: dir, env })
      yield* run(bin, ["run", "workflow.yaml", "--quiet"], { cwd: dir, env })
      const written = readFileSync(join(dir, "large.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: number })
      const expected = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 3 !== 0 && i * 2 >= 100).map((i) => i + 1)
      assert.deepStrictEqual(written.map((r) => r.id), expected)
    }))

  it.effect("wrong programs fail to compile, each on its marked line, for the marked reason", () =>
    Effect.gen(function*() {
      const { dir } = yield* Consumer
      const result = yield* exec(process.execPath, [tsc, "-p", "tsconfig.wrong.json", "--pretty", "false"], { cwd: dir })
      assert.notStrictEqual(result.status, 0, "the wrong programs compiled")
      // One diagnostic: `file(line,col): error TSnnnn: message` and its indented continuation lines.
      const diagnostics: Array<{ file: string; line: number; text: string }> = []
      for (const line of result.stdout.split("\n")) {
        const head = /^(wrong\/[^(]+)\((\d+),\d+\): error (.*)$/.exec(line)
        if (head !== null) diagnostics.push({ file: head[1], line: Number(head[2]), text: head[3] })
        else if (line.startsWith(" ") && diagnostics.length > 0) diagnostics[diagnostics.length - 1].text += `\n${line}`
        else if (line.trim() !== "") assert.fail(`unexpected compiler output: ${line}`)
      }
      const files = readdirSync(join(dir, "wrong"))
      assert.isAtLeast(files.length, 7)
      for (const file of files) {
        const lines = readFileSync(join(dir, "wrong", file), "utf8").split("\n")
        const marked = lines.flatMap((text, i) => {
          const m = /\/\/ error: (.*)$/.exec(text)
          return m === null ? [] : [{ line: i + 1, reason: m[1] }]
        })
        assert.lengthOf(marked, 1, `wrong/${file} marks one line with // error: <reason>`)
        const [{ line, reason }] = marked
        const found = diagnostics.filter((d) => d.file === `wrong/${file}`)
        assert.isAbove(found.length, 0, `wrong/${file} compiled`)
        for (const d of found) {
          assert.strictEqual(d.line, line, `wrong/${file}: an error on line ${d.line}, not the marked line ${line}: ${d.text}`)
          assert.include(d.text, reason, `wrong/${file}:${line}`)
        }
      }
    }))

  it.effect("dataflare/testing loads with no test framework installed; internal modules are not exported", () =>
    Effect.gen(function*() {
      const { dir } = yield* Consumer
      assert.isFalse(existsSync(join(dir, "node_modules/vitest")), "vitest is not installed")
      assert.isFalse(existsSync(join(dir, "node_modules/@effect/vitest")), "@effect/vitest is not installed")
      const testing = yield* run(
        process.execPath,
        ["--input-type=module", "-e", "const t = await import('dataflare/testing'); console.log(Object.keys(t).sort().join(','))"],
        { cwd: dir }
      )
      assert.strictEqual(testing.stdout.trim(), "BackendSuite,RestoreEquivalence,SinkSuite,SourceSuite,SuiteCase,Testing")
      const vitest = yield* exec(process.execPath, ["--input-type=module", "-e", "await import('dataflare/vitest')"], { cwd: dir })
      assert.include(vitest.stderr, "Cannot find package '@effect/vitest'", "dataflare/vitest needs @effect/vitest (an optional peer)")
      for (const path of ["dataflare/internal/channel", "dataflare/src/Batch.ts", "dataflare/dist/src/internal/channel.js"]) {
        const result = yield* exec(process.execPath, ["--input-type=module", "-e", `await import('${path}')`], { cwd: dir })
        assert.include(result.stderr, "ERR_PACKAGE_PATH_NOT_EXPORTED", path)
      }
    }))
})
