/**
 * The bundled CLI (`npm run build`, `scripts/build.ts`): it builds, it behaves as the TypeScript
 * sources do, its worker threads find their entry file, and `bin/dataflare` runs it only while it
 * is up to date.
 */
import { execFile } from "node:child_process"
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs"
import { readFile, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { bin, type CliResult, cli, tempDir } from "./support.ts"

const root = resolve(import.meta.dirname, "../..")
const fixture = fileURLToPath(new URL("../workers/fixtures/transforms.ts", import.meta.url))
const example = join(root, "examples/csv-to-ndjson.yaml")

/** Runs `file` with `args` (no shell), in `cwd`. */
const run = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: Record<string, string> } = {}
): Effect.Effect<CliResult> =>
  Effect.callback<CliResult>((resume) => {
    execFile(
      file,
      [...args],
      { cwd: options.cwd ?? root, env: { ...process.env, NO_COLOR: "1", ...options.env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resume(Effect.succeed({ status, stdout: String(stdout), stderr: String(stderr) }))
      }
    )
  })

/** Node the way bin/dataflare runs it. */
const node = (entry: string, args: ReadonlyArray<string>, cwd?: string) =>
  run(process.execPath, ["--experimental-strip-types", "--no-warnings", entry, ...args], cwd === undefined ? {} : { cwd })

/** Builds the CLI into a fresh directory. */
const build = Effect.gen(function*() {
  const dir = yield* tempDir
  const out = join(dir, "dist")
  const result = yield* run(process.execPath, ["--no-warnings", join(root, "scripts/build.ts"), "--outdir", out])
  assert.strictEqual(result.status, 0, result.stderr)
  return out
})

/** A workflow that doubles `value` on worker threads; returns the dir holding it and its input. */
const workerWorkflow = Effect.gen(function*() {
  const dir = yield* tempDir
  const rows = Array.from({ length: 500 }, (_, i) => `${i + 1},${i * 3}`)
  yield* Effect.promise(() => writeFile(join(dir, "in.csv"), `id,value\n${rows.join("\n")}\n`))
  yield* Effect.promise(() =>
    writeFile(
      join(dir, "workers.yaml"),
      [
        "name: workers",
        "execution: { batch_size: 50 }",
        "sources:",
        "  rows:",
        "    type: csv",
        "    config: { path: in.csv, header: true, columns: { id: integer, value: integer } }",
        "transformations:",
        "  doubled:",
        "    type: worker_map",
        "    inputs: [rows]",
        `    config: { module: ${JSON.stringify(fixture)}, export: double, workers: 2 }`,
        "destinations:",
        "  out:",
        "    type: ndjson",
        "    inputs: [doubled]",
        "    config: { path: out.ndjson }",
        ""
      ].join("\n")
    )
  )
  return dir
})

/** Checks the worker workflow's output: every row doubled, on threads other than the main one. */
const checkWorkerOutput = (dir: string) =>
  Effect.gen(function*() {
    const text = yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8"))
    const records = text.trim().split("\n").map((l) => JSON.parse(l) as { id: number; value: number; thread: number })
    assert.strictEqual(records.length, 500)
    assert.deepStrictEqual(records.map((r) => r.value), Array.from({ length: 500 }, (_, i) => i * 6))
    assert.isTrue(records.every((r) => r.thread > 0), "every record was mapped on a worker thread")
  })

describe("the bundled CLI", () => {
  it.live("builds the launcher, the CLI bundle, the worker entries and the stamp", () =>
    Effect.gen(function*() {
      const out = yield* build
      for (const file of ["dataflare.mjs", "cli.mjs", "workers/runner.mjs", ".built"]) {
        assert.isTrue(existsSync(join(out, file)), `${file} was built`)
      }
    }))

  it.live("prints the same as the sources for --version, --help, validate and a usage error", () =>
    Effect.gen(function*() {
      const out = yield* build
      const cases: ReadonlyArray<ReadonlyArray<string>> = [
        ["--version"],
        ["--help"],
        ["validate", example],
        ["plan", example],
        ["validate"],
        ["frobnicate"]
      ]
      for (const args of cases) {
        const bundled = yield* node(join(out, "dataflare.mjs"), args)
        const source = yield* node(join(root, "dsl/cli/main.ts"), args)
        assert.deepStrictEqual(bundled, source, `dataflare ${args.join(" ")}`)
      }
      const version = yield* node(join(out, "dataflare.mjs"), ["--version"])
      const pkg = JSON.parse(yield* Effect.promise(() => readFile(join(root, "package.json"), "utf8"))) as { version: string }
      assert.strictEqual(version.stdout.trim(), `dataflare v${pkg.version}`)
    }))

  it.live("runs worker_map from the bundle: the worker threads find their built entry file", () =>
    Effect.gen(function*() {
      const out = yield* build
      const dir = yield* workerWorkflow
      const result = yield* node(join(out, "dataflare.mjs"), ["run", "workers.yaml", "--quiet"], dir)
      assert.strictEqual(result.status, 0, result.stderr)
      yield* checkWorkerOutput(dir)
    }))

  it.live("runs worker_map through bin/dataflare from the sources (DATAFLARE_FROM_SOURCE=1)", () =>
    Effect.gen(function*() {
      const dir = yield* workerWorkflow
      const result = yield* cli(["run", "workers.yaml", "--quiet"], { cwd: dir, env: { DATAFLARE_FROM_SOURCE: "1" } })
      assert.strictEqual(result.status, 0, result.stderr)
      yield* checkWorkerOutput(dir)
    }))

  it.live("runs worker_map through bin/dataflare as installed", () =>
    Effect.gen(function*() {
      const dir = yield* workerWorkflow
      const result = yield* cli(["run", "workers.yaml", "--quiet"], { cwd: dir })
      assert.strictEqual(result.status, 0, result.stderr)
      yield* checkWorkerOutput(dir)
    }))
})

describe("bin/dataflare chooses what to run", () => {
  /**
   * A fake checkout: a copy of bin/dataflare, the real Node, and a "bundle" and "sources" that
   * print which one ran. Sources are dated an hour back, the stamp now.
   */
  const fakeRoot = Effect.gen(function*() {
    const dir = yield* tempDir
    const past = new Date(Date.now() - 3_600_000)
    const write = (path: string, text: string) => {
      mkdirSync(join(dir, path, ".."), { recursive: true })
      writeFileSync(join(dir, path), text)
      utimesSync(join(dir, path), past, past)
    }
    write("dsl/cli/main.ts", `console.log("source", process.argv.slice(2).join(" "))\n`)
    write("src/Runtime.ts", "export {}\n")
    write("package.json", "{}\n")
    write("package-lock.json", "{}\n")
    write("scripts/build.ts", "export {}\n")
    write("dist/dataflare.mjs", `console.log("bundle", process.argv.slice(2).join(" "))\n`)
    mkdirSync(join(dir, "bin"))
    copyFileSync(bin, join(dir, "bin/dataflare"))
    chmodSync(join(dir, "bin/dataflare"), 0o755)
    mkdirSync(join(dir, "node_modules/.bin"), { recursive: true })
    symlinkSync(process.execPath, join(dir, "node_modules/.bin/node"))
    writeFileSync(join(dir, "dist/.built"), "")
    return dir
  })

  const which = (dir: string, env: Record<string, string> = {}) =>
    Effect.map(run(join(dir, "bin/dataflare"), ["--version"], { cwd: dir, env }), (r) => `${r.status} ${r.stdout.trim()}`)

  it.live("the bundle when it is up to date; the sources when asked, when a source is newer or when there is no build", () =>
    Effect.gen(function*() {
      const dir = yield* fakeRoot
      assert.strictEqual(yield* which(dir), "0 bundle --version")
      assert.strictEqual(yield* which(dir, { DATAFLARE_FROM_SOURCE: "1" }), "0 source --version")

      const future = new Date(Date.now() + 60_000)
      utimesSync(join(dir, "src/Runtime.ts"), future, future)
      assert.strictEqual(yield* which(dir), "0 source --version", "a source edited after the build")
      utimesSync(join(dir, "dist/.built"), future, future)
      assert.strictEqual(yield* which(dir), "0 bundle --version", "rebuilt")

      const later = new Date(Date.now() + 120_000)
      utimesSync(join(dir, "package-lock.json"), later, later)
      assert.strictEqual(yield* which(dir), "0 source --version", "dependencies changed after the build")
      rmSync(join(dir, "package-lock.json"))
      assert.strictEqual(yield* which(dir), "0 bundle --version", "a file that does not exist is not newer")
    }))

  it.live("the sources when dist/ has no stamp (a build that did not finish)", () =>
    Effect.gen(function*() {
      const dir = yield* fakeRoot
      rmSync(join(dir, "dist/.built"))
      assert.strictEqual(yield* which(dir), "0 source --version")
    }))
})
