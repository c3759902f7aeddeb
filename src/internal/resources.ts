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
 * The collisions among declarations (in declaration order): a write collides with the other
 * declarations of its resource unless both are `shared` — reported against the first reader it
 * cannot share with, else the first earlier writer. Reads alone never collide.
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
    group.forEach((w, i) => {
      if (w.access !== "write") return
      const clash = (d: Declared) => d !== w && !(w.resource.shared === true && d.resource.shared === true)
      const other = group.find((d) => d.access === "read" && clash(d)) ??
        group.slice(0, i).find((d) => d.access === "write" && clash(d))
      if (other !== undefined) found.push({ at: w, other })
    })
  }
  return found
}
