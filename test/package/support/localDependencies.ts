/**
 * The packages an installed `dataflare` needs, as npm tarballs made from this repository's own
 * `node_modules` — so the consumer test installs with `npm install --offline` and reaches no
 * registry (npm's cache holds the tarballs `npm ci` fetched, but not the package metadata a
 * fresh resolution needs).
 *
 * The set is the closure of `dataflare`'s `dependencies` and required `peerDependencies` over
 * each package's own `dependencies` and required peers, each found where Node would find it from
 * the package requiring it — so a package with a nested copy of a dependency (another version
 * than the hoisted one) gets that copy, through a nested npm override. Each becomes
 * `<dir>/<name>@<version>.tgz` (`package/` prefix, as `npm pack` writes), without the package's
 * own `node_modules`, and without what neither `node` nor `tsc`
 * reads (source maps, and the TypeScript sources Effect's packages ship beside `dist/` for their
 * declaration maps): Effect's tarball shrinks from 61 MB to 28 MB unpacked, the slowest part of
 * the consumer test's install.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join, relative, sep } from "node:path"

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

/** Where Node finds `name` from the package in `from` (inside `root`): its directory. */
export const locate = (root: string, name: string, from: string): string => {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name)
    if (existsSync(join(candidate, "package.json"))) return candidate
    if (dir === root || !dir.startsWith(root)) throw new Error(`${name} (needed by ${from}) is not installed: run npm ci`)
  }
}

/**
 * A package to install: its name, version, where it is in the repository's node_modules, and the
 * names of the packages on the way there (`["mysql2"]` for `node_modules/mysql2/node_modules/
 * iconv-lite`, a version of its own that mysql2 needs; empty for a hoisted one).
 */
export interface LocalPackage {
  readonly name: string
  readonly version: string
  readonly dir: string
  readonly within: ReadonlyArray<string>
}

/** The package names along `dir`'s path below `root`: `a/node_modules/b` → `["a", "b"]`. */
const chain = (root: string, dir: string): ReadonlyArray<string> =>
  relative(join(root, "node_modules"), dir).split(`${sep}node_modules${sep}`).map((name) => name.split(sep).join("/"))

/**
 * The packages an installed `dataflare` (the package at `root`) needs: each copy in the
 * repository's node_modules that Node would load, so a package needing another version of a
 * dependency than the hoisted one (it has a nested copy) gets that version too.
 */
export const closure = (root: string): ReadonlyArray<LocalPackage> => {
  const found = new Map<string, LocalPackage>()
  const visit = (name: string, from: string) => {
    const dir = locate(root, name, from)
    if (found.has(dir)) return
    const m = manifest(dir)
    const names = chain(root, dir)
    found.set(dir, { name, version: m.version, dir, within: names.slice(0, -1) })
    for (const dependency of required(m)) visit(dependency, dir)
  }
  for (const name of required(manifest(root))) visit(name, root)
  return [...found.values()]
}

/** A package's tarball: `<out>/<name with / as +>@<version>.tgz`. */
const tarballOf = (p: LocalPackage, out: string): string => join(out, `${p.name.replace("/", "+")}@${p.version}.tgz`)

/** Packs each package (one tarball per name and version) into `out`; returns the packages' tarballs. */
export const tarballs = (packages: ReadonlyArray<LocalPackage>, out: string): ReadonlyMap<LocalPackage, string> => {
  const packed = new Set<string>()
  return new Map(packages.map((p) => {
    const file = tarballOf(p, out)
    if (packed.has(file)) return [p, file]
    packed.add(file)
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
    return [p, file]
  }))
}

/** An npm `overrides` value (a spec, or a package's own spec `"."` with its dependencies' overrides). */
export type Override = string | { [name: string]: Override }

/**
 * npm `overrides` that install exactly these tarballs: a hoisted package at the top, a nested copy
 * under the packages on its way (`{ mysql2: { ".": <mysql2>, "iconv-lite": <its own> } }`).
 */
export const overrides = (packed: ReadonlyMap<LocalPackage, string>): Record<string, Override> => {
  const top: Record<string, Override> = {}
  // hoisted ones first, so a nested one finds its parents' specs to nest under
  const ordered = [...packed].sort(([a], [b]) => a.within.length - b.within.length)
  for (const [p, file] of ordered) {
    let level = top
    for (const parent of p.within) {
      const current = level[parent]
      const nested: { [name: string]: Override } = typeof current === "object" ? current : current === undefined ? {} : { ".": current }
      level[parent] = nested
      level = nested
    }
    const spec = `file:${file}`
    const current = level[p.name]
    if (typeof current === "object") current["."] = spec
    else level[p.name] = spec
  }
  return top
}
