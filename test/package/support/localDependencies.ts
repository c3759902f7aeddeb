/**
 * The packages an installed `dataflare` needs, as npm tarballs made from this repository's own
 * `node_modules` — so the consumer test installs with `npm install --offline` and reaches no
 * registry (npm's cache holds the tarballs `npm ci` fetched, but not the package metadata a
 * fresh resolution needs).
 *
 * The set is the closure of `dataflare`'s `dependencies` and required `peerDependencies` over
 * each package's own `dependencies` and required peers, each found where Node would find it from
 * the package requiring it. Each becomes `<dir>/<name>.tgz` (`package/` prefix, as `npm pack`
 * writes), without the package's own `node_modules`, and without what neither `node` nor `tsc`
 * reads (source maps, and the TypeScript sources Effect's packages ship beside `dist/` for their
 * declaration maps): Effect's tarball shrinks from 61 MB to 28 MB unpacked, the slowest part of
 * the consumer test's install.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"

interface Manifest {
  readonly name: string
  readonly version: string
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
}

const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest

const required = (m: Manifest): ReadonlyArray<string> => [
  ...Object.keys(m.dependencies ?? {}),
  ...Object.keys(m.peerDependencies ?? {}).filter((name) => m.peerDependenciesMeta?.[name]?.optional !== true)
]

/** Where Node finds `name` from the package in `from` (inside `root`). */
const locate = (root: string, name: string, from: string): string => {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name)
    if (existsSync(join(candidate, "package.json"))) return candidate
    if (dir === root || !dir.startsWith(root)) throw new Error(`${name} (needed by ${from}) is not installed: run npm ci`)
  }
}

/** A package to install: its name and where it is in the repository's node_modules. */
export interface LocalPackage {
  readonly name: string
  readonly version: string
  readonly dir: string
}

/** The packages an installed `dataflare` (the package at `root`) needs. */
export const closure = (root: string): ReadonlyArray<LocalPackage> => {
  const found = new Map<string, LocalPackage>()
  const visit = (name: string, from: string) => {
    const dir = locate(root, name, from)
    const m = manifest(dir)
    const known = found.get(name)
    if (known !== undefined) {
      if (known.version !== m.version) {
        throw new Error(`two versions of ${name} are needed (${known.version}, ${m.version}): the consumer test installs one of each name`)
      }
      return
    }
    found.set(name, { name, version: m.version, dir })
    for (const dependency of required(m)) visit(dependency, dir)
  }
  for (const name of required(manifest(root))) visit(name, root)
  return [...found.values()]
}

/** Packs each package into `<out>/<name with / as +>.tgz`; returns name → tarball path. */
export const tarballs = (packages: ReadonlyArray<LocalPackage>, out: string): ReadonlyMap<string, string> =>
  new Map(packages.map((p) => {
    const file = join(out, `${p.name.replace("/", "+")}.tgz`)
    const sourcesBesideDist = p.name === "effect" || p.name.startsWith("@effect/")
    execFileSync("tar", [
      "--create",
      "--use-compress-program=gzip -1",
      "--file",
      file,
      "-C",
      p.dir,
      "--exclude=./node_modules",
      "--exclude=*.map",
      ...(sourcesBesideDist ? ["--exclude=./src"] : []),
      "--transform",
      "s,^\\.,package,",
      "."
    ])
    return [p.name, file]
  }))
