/**
 * File operations of the file backend, each a `Promise` function wrapped at the backend's edge:
 * atomic replacement (temp file in the same directory, fsync, rename, fsync of the directory),
 * listing record files, and reading them.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

/** Record file names: `chk-<12-digit id>.json`. */
export const recordFile = (id: number): string => `chk-${String(id).padStart(12, "0")}.json`

const RECORD = /^chk-(\d+)\.json$/

/** Temp files are dot files with this marker; `latest` never reads them. */
export const TEMP_MARKER = ".tmp-"

/** The id named by a record file, or `undefined` for any other file. */
export const recordId = (name: string): number | undefined => {
  const m = RECORD.exec(name)
  if (m === null) return undefined
  const id = Number(m[1])
  return Number.isSafeInteger(id) ? id : undefined
}

/** Whether a file is a (possibly abandoned) temp file of an atomic write. */
export const isTemp = (name: string): boolean => name.startsWith(".") && name.includes(TEMP_MARKER)

/** Names in `directory`, or `[]` when it does not exist. */
export const listNames = async (directory: string): Promise<Array<string>> => {
  try {
    return await fs.readdir(directory)
  } catch (error) {
    if (isNotFound(error)) return []
    throw error
  }
}

/** Reads a file as text, or `undefined` when it does not exist. */
export const readText = async (file: string): Promise<string | undefined> => {
  try {
    return await fs.readFile(file, "utf8")
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

/**
 * Inode, size and modification time (ms), the key of the metadata cache; `undefined` when gone.
 * Every write renames a new file into place, so a rewritten record has a new inode.
 */
export const statKey = async (file: string): Promise<string | undefined> => {
  try {
    const s = await fs.stat(file)
    return `${s.ino}:${s.size}:${Math.floor(s.mtimeMs)}`
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

/**
 * Replaces `directory/name` with `content` atomically: after a crash at any point the file holds
 * either its old content (or is absent) or the whole new content. With `sync` the content and
 * the rename are on disk when the promise resolves.
 */
export const writeAtomic = async (directory: string, name: string, content: string, sync: boolean): Promise<void> => {
  const temp = path.join(directory, `.${name}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString("hex")}`)
  const handle = await fs.open(temp, "wx")
  try {
    await handle.writeFile(content, "utf8")
    if (sync) await handle.sync()
  } catch (error) {
    await handle.close().catch(() => undefined)
    await fs.rm(temp, { force: true })
    throw error
  }
  await handle.close()
  await fs.rename(temp, path.join(directory, name))
  if (sync) await syncDirectory(directory)
}

/**
 * Makes the directory's entries (creations, renames, removals) durable. Where a platform cannot
 * fsync a directory (Windows, some network filesystems) the rename is as durable as it gets there.
 */
export const syncDirectory = async (directory: string): Promise<void> => {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(directory, "r")
  } catch (error) {
    if (hasCode(error, "EISDIR", "EPERM", "EACCES")) return
    throw error
  }
  try {
    await handle.sync()
  } catch (error) {
    if (!hasCode(error, "EINVAL", "ENOTSUP", "EBADF")) throw error
  } finally {
    await handle.close()
  }
}

const hasCode = (error: unknown, ...codes: ReadonlyArray<string>): boolean =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" && codes.includes(error.code)

/** Creates a directory and its parents; syncs every parent that got a new entry, so they survive a crash. */
export const ensureDirectory = async (directory: string, sync: boolean): Promise<void> => {
  const created = await fs.mkdir(directory, { recursive: true })
  if (created === undefined || !sync) return
  const target = path.resolve(directory)
  for (let dir = path.resolve(created); ; dir = path.join(dir, path.relative(dir, target).split(path.sep)[0])) {
    await syncDirectory(path.dirname(dir))
    if (dir === target) return
  }
}

/** Removes files of `directory` (missing ones are fine). */
export const removeAll = async (directory: string, names: ReadonlyArray<string>): Promise<void> => {
  for (const name of names) await fs.rm(path.join(directory, name), { force: true })
}

const isNotFound = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "code" in error && error.code === "ENOENT"

/** The lock file of a state directory: who writes it. */
export const LOCK_FILE = "writer.lock"

/** What a lock file holds. */
export interface Holder {
  readonly pid: number
  readonly host: string
}

/**
 * Takes the writer lock of `directory` for this process: creates the lock file, or takes it over
 * when the process that holds it has ended (same host, pid gone) or is this one. Returns the
 * holder that keeps it otherwise.
 */
export const takeLock = async (directory: string, sync: boolean): Promise<Holder | undefined> => {
  const me: Holder = { pid: process.pid, host: os.hostname() }
  const file = path.join(directory, LOCK_FILE)
  const text = JSON.stringify(me) + "\n"
  try {
    const handle = await fs.open(file, "wx")
    try {
      await handle.writeFile(text, "utf8")
      if (sync) await handle.sync()
    } finally {
      await handle.close()
    }
    return undefined
  } catch (error) {
    if (!(typeof error === "object" && error !== null && "code" in error && error.code === "EEXIST")) throw error
  }
  const holder = parseHolder(await readText(file))
  if (holder !== undefined && !(holder.host === me.host && (holder.pid === me.pid || !alive(holder.pid)))) return holder
  await writeAtomic(directory, LOCK_FILE, text, sync)
  // two processes taking over the same stale lock: the last rename wins, the other sees it
  const now = parseHolder(await readText(file))
  return now !== undefined && (now.pid !== me.pid || now.host !== me.host) ? now : undefined
}

/** Removes the lock file if this process holds it. */
export const releaseLock = async (directory: string): Promise<void> => {
  const file = path.join(directory, LOCK_FILE)
  const holder = parseHolder(await readText(file))
  if (holder !== undefined && isMe(holder)) await fs.rm(file, { force: true })
}

/** Who holds the lock of `directory` now (`undefined`: nobody, or an unreadable lock file). */
export const lockHolder = async (directory: string): Promise<Holder | undefined> =>
  parseHolder(await readText(path.join(directory, LOCK_FILE)))

/** Whether a holder is this process. */
export const isMe = (holder: Holder): boolean => holder.pid === process.pid && holder.host === os.hostname()

const parseHolder = (text: string | undefined): Holder | undefined => {
  if (text === undefined) return undefined
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null && "pid" in value && typeof value.pid === "number" && "host" in value &&
        typeof value.host === "string"
      ? { pid: value.pid, host: value.host }
      : undefined
  } catch {
    return undefined
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else
    return typeof error === "object" && error !== null && "code" in error && error.code === "EPERM"
  }
}
