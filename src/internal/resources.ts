/**
 * Resource collisions: two nodes writing one file, or a node writing what another reads (a sink
 * whose path is its own source's truncates the input to nothing before reading it).
 *
 * Connectors declare what they read and write (`resources` on a definition, see
 * `Connector.Resource`). Files are compared by what they are, not by how they are written: a
 * relative path resolves against the current directory (as the connectors open it), symbolic
 * links are followed (also a dangling one, and links to directories on the way), and an existing
 * file is known by its device and inode, so a hard link is the same file too. Other kinds of
 * resources compare by kind and name as declared.
 */
import { lstat, readlink, realpath, stat } from "node:fs/promises"
import { basename, dirname, join, resolve } from "node:path"
import type { Resource } from "../Connector.ts"

/** One declaration: who reads or writes what, and where it is written. */
export interface Declared {
  /** The node declaring it; `undefined` for the workflow file itself. */
  readonly node: string | undefined
  readonly access: "read" | "write"
  readonly resource: Resource
}

/** A declaration that must not be: `at` writes what `other` reads or writes too. */
export interface Collision {
  readonly at: Declared
  readonly other: Declared
}

/** Follows symbolic links of a path that may not exist (yet), at most `depth` of them. */
const canonical = async (absolute: string, depth = 0): Promise<string> => {
  if (depth > 40) return absolute
  const link = await lstat(absolute).then((s) => s.isSymbolicLink(), () => undefined)
  if (link === true) {
    const target = await readlink(absolute).catch(() => undefined)
    if (target !== undefined) return canonical(resolve(dirname(absolute), target), depth + 1)
  }
  if (link !== undefined) return realpath(absolute).catch(() => absolute)
  // not there: the real path of its directory (which may itself be missing, or a link), plus the name
  const parent = dirname(absolute)
  if (parent === absolute) return absolute
  return join(await canonical(parent, depth + 1), basename(absolute))
}

/**
 * What a resource is, as a string equal for two declarations of one thing: `file:<dev>:<ino>`
 * for an existing file, `path:<real path>` for a file not there yet, `<kind>:<name>` otherwise.
 */
export const identify = async (resource: Resource): Promise<string> => {
  if (resource.kind !== "file") return `${resource.kind}:${resource.name}`
  const path = await canonical(resolve(resource.name))
  const found = await stat(path).catch(() => undefined)
  return found !== undefined ? `file:${found.dev}:${found.ino}` : `path:${path}`
}

/**
 * The collisions among declarations (in declaration order): in each group of declarations of
 * one resource with a writer, every writer collides with the first reader, or, with no reader,
 * with the first writer. Readers alone never collide.
 */
export const collisions = async (declared: ReadonlyArray<Declared>): Promise<ReadonlyArray<Collision>> => {
  const identities = await Promise.all(declared.map((d) => identify(d.resource)))
  const groups = new Map<string, Array<Declared>>()
  declared.forEach((d, i) => {
    const group = groups.get(identities[i])
    if (group === undefined) groups.set(identities[i], [d])
    else group.push(d)
  })
  const found: Array<Collision> = []
  for (const group of groups.values()) {
    if (group.length < 2 || !group.some((d) => d.access === "write")) continue
    const first = group.find((d) => d.access === "read") ?? group[0]
    for (const d of group) if (d !== first && d.access === "write") found.push({ at: d, other: first })
  }
  return found
}
