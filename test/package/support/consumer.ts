/**
 * A user's project with `dataflare` installed from its tarball, built once for the tests of
 * test/package/Consumer.test.ts:
 *
 * 1. the package is built in a staging copy of the checkout (`scripts/build.ts`; the checkout's
 *    own `dist/` is left alone, other tests run its CLI) and packed there with `npm pack`, which
 *    applies `files` from package.json as a publish would;
 * 2. a temporary project gets its own package.json (`dataflare` and `effect` as dependencies) and
 *    the fixture files (test/package/fixtures/consumer), and `npm install --offline` installs the
 *    tarball and every package it needs from tarballs of this repository's node_modules
 *    (localDependencies.ts) — no registry is reached.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Context, Effect, Layer } from "effect"
import { run } from "./commands.ts"
import { closure, type LocalPackage, overrides, tarballs } from "./localDependencies.ts"

export const root = resolve(import.meta.dirname, "../../..")
export const fixtures = join(root, "test/package/fixtures/consumer")

/** What `npm pack --json` says about the tarball. */
export interface Packed {
  readonly filename: string
  readonly size: number
  readonly unpackedSize: number
  readonly files: ReadonlyArray<{ readonly path: string }>
}

/** The installed consumer project. */
export class Consumer extends Context.Service<Consumer, {
  /** The project's directory. */
  readonly dir: string
  /** The tarball as packed. */
  readonly packed: Packed
  /** The packages installed beside it, as the repository's node_modules has them. */
  readonly dependencies: ReadonlyArray<LocalPackage>
}>()("test/package/Consumer") {}

/** The compiler options every consumer tsconfig shares: a common strict setup. */
const strict = {
  target: "es2022",
  lib: ["es2023"],
  types: ["node"],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  skipLibCheck: true
}

const writeJson = (file: string, value: unknown) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)

const npm = (args: ReadonlyArray<string>, cwd: string) => run("npm", [...args, "--no-audit", "--no-fund"], { cwd, timeoutMs: 300_000 })

const make = Effect.gen(function*() {
  const base = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "dataflare-consumer-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

  // 1. build and pack a staging copy of the checkout (its node_modules linked), so that paths in
  //    the maps are relative as in a checkout's own build
  const stage = join(base, "stage")
  mkdirSync(stage)
  for (const entry of ["package.json", "README.md", "tsconfig.json", "tsconfig.build.json", "src", "dsl", "scripts"]) {
    cpSync(join(root, entry), join(stage, entry), { recursive: true })
  }
  symlinkSync(join(root, "node_modules"), join(stage, "node_modules"))
  yield* run(process.execPath, [join(stage, "scripts/build.ts")], { cwd: stage })
  const pack = yield* npm(["pack", "--ignore-scripts", "--json", "--pack-destination", base], stage)
  const [packed] = JSON.parse(pack.stdout) as ReadonlyArray<Packed>

  // 2. the consumer project
  const deps = join(base, "deps")
  mkdirSync(deps)
  const local = tarballs(closure(root), deps)
  const dir = join(base, "consumer")
  mkdirSync(dir)
  const effect = [...local].find(([p]) => p.name === "effect" && p.within.length === 0)?.[1]
  if (effect === undefined) return yield* Effect.die(new Error("effect is not among dataflare's peer dependencies"))
  writeJson(join(dir, "package.json"), {
    name: "consumer",
    private: true,
    type: "module",
    dependencies: { dataflare: `file:${join(base, packed.filename)}`, effect: `file:${effect}` },
    overrides: overrides(local)
  })
  yield* npm(["install", "--offline", "--ignore-scripts"], dir)

  for (const file of readdirSync(fixtures)) cpSync(join(fixtures, file), join(dir, file), { recursive: true })
  const wrong = readdirSync(join(fixtures, "wrong")).map((file) => `wrong/${file}`)
  writeJson(join(dir, "tsconfig.json"), {
    compilerOptions: { ...strict, module: "nodenext", moduleResolution: "nodenext", outDir: "out" },
    files: ["program.ts", "threads.ts"]
  })
  writeJson(join(dir, "tsconfig.bundler.json"), {
    compilerOptions: { ...strict, module: "preserve", moduleResolution: "bundler", noEmit: true },
    files: ["program.ts", "threads.ts"]
  })
  // DataFlare's own declarations checked too (`skipLibCheck: false`; `dom` for the Web Crypto
  // types Effect's declarations name)
  writeJson(join(dir, "tsconfig.libcheck.json"), {
    compilerOptions: { ...strict, lib: ["es2023", "dom"], skipLibCheck: false, module: "nodenext", moduleResolution: "nodenext", noEmit: true },
    files: ["program.ts", "threads.ts"]
  })
  writeJson(join(dir, "tsconfig.wrong.json"), {
    compilerOptions: { ...strict, module: "nodenext", moduleResolution: "nodenext", noEmit: true },
    files: wrong
  })
  return { dir, packed, dependencies: [...local.keys()] }
})

/** Builds the consumer project once for all the tests that use the layer. */
export const layer = Layer.effect(Consumer, make)
