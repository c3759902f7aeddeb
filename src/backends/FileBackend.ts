/**
 * The embedded durable state backend: checkpoint records as JSON files under a state directory.
 *
 * Each workflow has its own directory (by default `.dataflare/<workflow-name>`, or the one given
 * with `--state-dir`), holding `workflow.json` (which workflow owns the directory) and one file per
 * checkpoint record, `chk-<zero-padded id>.json`. A record is written atomically: to a temp file in
 * the same directory, fsync'ed, renamed over its final name, and the directory fsync'ed — so a
 * crash at any moment leaves either the new record or none, and the previous checkpoint stays
 * usable. Reading tolerates damage: temp files are ignored, a record whose checksum does not match
 * (edited or damaged) or that does not decode is skipped with a warning, and the newest chain
 * whose every link is intact is restored.
 *
 * @since 0.1.0
 */
import * as path from "node:path"
import { Effect, Layer, Schema, type Scope, Semaphore } from "effect"
import { type CheckpointInfo, info } from "../Checkpoint.ts"
import { type Backend, StateBackend, StateBackendError } from "../StateBackend.ts"
import { latestChain, type Meta, readRecord, retainedIds, validId } from "./internal/chain.ts"
import { encodeRecord, InfoSchema } from "./internal/encode.ts"
import * as Files from "./internal/files.ts"

/**
 * Options of the file backend.
 *
 * **Gotchas**: one process writes a state directory at a time; processes that share state use
 * the PostgreSQL backend.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * The state directory of one workflow (`--state-dir`). The first workflow that writes it owns
   * it; any other workflow is refused. Without it, each workflow gets `<root>/<workflow-name>`.
   */
  readonly directory?: string | undefined
  /** The parent of per-workflow state directories when `directory` is not given (default `.dataflare`). */
  readonly root?: string | undefined
  /** fsync files and directories (default `true`; turn off only for throwaway state). */
  readonly sync?: boolean | undefined
}

/**
 * The default parent of per-workflow state directories, relative to the working directory.
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_ROOT = ".dataflare"

/**
 * The file holding the name of the workflow that owns a state directory.
 *
 * @category constants
 * @since 0.1.0
 */
export const IDENTITY_FILE = "workflow.json"

/**
 * A cache of record metadata (ids, sizes, `list` output), so `list` — and `dataflare
 * checkpoints` — need not read and parse whole records. Never trusted for a record whose file
 * changed (size or mtime), and not needed for correctness: without it every record is read.
 *
 * @category constants
 * @since 0.1.0
 */
export const INDEX_FILE = "index.json"

/**
 * The default state directory of a workflow: `<root>/<name>`, the name escaped so that any
 * workflow name is one safe path segment.
 *
 * @category utils
 * @since 0.1.0
 */
export const directoryFor = (workflow: string, root: string = DEFAULT_ROOT): string => {
  let segment = encodeURIComponent(workflow).replace(/[*!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  if (segment === "" || segment === "." || segment === "..") segment = segment.replace(/\./g, "%2E") || "%00"
  return path.join(root, segment)
}

/**
 * A file backend.
 *
 * **Example**
 * ```ts
 * const backend = FileBackend.make({ directory: "/var/lib/dataflare/orders" })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options): Backend => makeWithRelease(options).backend

/**
 * A file backend whose writer locks are released when the scope closes (the {@link layer} uses
 * it). With {@link make} a lock is released when the process ends (the next writer sees that its
 * holder is gone).
 *
 * @category constructors
 * @since 0.1.0
 */
export const scoped = (options?: Options): Effect.Effect<Backend, never, Scope.Scope> =>
  Effect.map(Effect.acquireRelease(Effect.sync(() => makeWithRelease(options)), (made) => made.release), (made) => made.backend)

const makeWithRelease = (options: Options | undefined): { readonly backend: Backend; readonly release: Effect.Effect<void> } => {
  const sync = options?.sync ?? true
  const root = options?.root ?? DEFAULT_ROOT
  const fixed = options?.directory
  const lock = Semaphore.makeUnsafe(1)
  /**
   * Metadata of record files already read, keyed by path, valid while size and mtime match;
   * `meta` is `undefined` for a damaged file (so it is not read and warned about on every write).
   */
  const metas = new Map<string, { readonly key: string; readonly meta: Meta | undefined; info: CheckpointInfo | undefined }>()
  const dirOf = (workflow: string) => fixed ?? directoryFor(workflow, root)
  /** Directories whose writer lock this backend holds. */
  const locked = new Set<string>()
  /** Directories whose index file has been read into `metas`. */
  const seeded = new Set<string>()

  /** Fills the metadata cache from the directory's index file, once (a bad index is ignored). */
  const seed = (directory: string) =>
    Effect.gen(function*() {
      if (seeded.has(directory)) return
      seeded.add(directory)
      const text = yield* Effect.orElseSucceed(Effect.tryPromise(() => Files.readText(path.join(directory, INDEX_FILE))), () => undefined)
      const json = text === undefined ? undefined : parseJson(text)
      if (json === undefined || !json.ok) return
      const index = yield* Effect.orElseSucceed(Schema.decodeUnknownEffect(IndexSchema)(json.value), () => undefined)
      for (const entry of index?.entries ?? []) {
        const file = path.join(directory, Files.recordFile(entry.info.id))
        if (!metas.has(file)) metas.set(file, { key: entry.key, meta: { id: entry.info.id, full: entry.info.full }, info: entry.info })
      }
    })

  /** Writes the cache of one directory to its index file (no fsync: it is only a cache). */
  const persist = (directory: string) =>
    Effect.gen(function*() {
      const entries: Array<typeof IndexSchema.Type["entries"][number]> = []
      for (const [file, entry] of metas) {
        if (path.dirname(file) === directory && entry.info !== undefined) entries.push({ key: entry.key, info: entry.info })
      }
      entries.sort((a, b) => a.info.id - b.info.id)
      const text = JSON.stringify({ format: 1, entries })
      yield* Effect.ignore(Effect.tryPromise(() => Files.writeAtomic(directory, INDEX_FILE, text, false)))
    })

  /** Takes the writer lock of a directory once; fails while another live process holds it. */
  const lockDirectory = (operation: string, directory: string) =>
    Effect.gen(function*() {
      if (locked.has(directory)) return
      const holder = yield* attempt(operation, `cannot lock ${directory}`, () => Files.takeLock(directory, sync))
      if (holder !== undefined) {
        return yield* new StateBackendError({
          backend: "file",
          operation,
          reason: "LockHeld",
          message: `the state directory ${directory} is being written by process ${holder.pid} on ${holder.host}; ` +
            `stop it, or remove ${path.join(directory, Files.LOCK_FILE)} if that process is gone`
        })
      }
      locked.add(directory)
    })

  /**
   * Fails with `Fenced` unless the lock file of a directory this backend locked still names this
   * process (someone removed it, and another process may have taken it).
   */
  const checkLease = (operation: string, directory: string) =>
    Effect.gen(function*() {
      if (!locked.has(directory)) return
      const holder = yield* attempt(operation, `cannot read the lock of ${directory}`, () => Files.lockHolder(directory))
      if (holder === undefined || !Files.isMe(holder)) {
        locked.delete(directory)
        return yield* new StateBackendError({
          backend: "file",
          operation,
          reason: "Fenced",
          message: `this process no longer holds the lock of the state directory ${directory} (${
            holder === undefined ? "its lock file was removed" : `process ${holder.pid} on ${holder.host} holds it now`
          }); it stops writing checkpoints there`
        })
      }
    })

  const attempt = <A>(operation: string, message: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: (cause) => new StateBackendError({ backend: "file", operation, message: `${message}: ${String(cause)}`, cause }) })

  /** Fails unless the directory is unowned (then claims it when `claim`) or owned by `workflow`. */
  const checkOwner = (operation: string, directory: string, workflow: string, claim: boolean) =>
    Effect.gen(function*() {
      const file = path.join(directory, IDENTITY_FILE)
      const text = yield* attempt(operation, `cannot read ${file}`, () => Files.readText(file))
      if (text === undefined) {
        if (!claim) return
        yield* attempt(operation, `cannot create the state directory ${directory}`, () => Files.ensureDirectory(directory, sync))
        const identity = JSON.stringify({ format: 1, workflow }) + "\n"
        return yield* attempt(operation, `cannot write ${file}`, () => Files.writeAtomic(directory, IDENTITY_FILE, identity, sync))
      }
      const owner = parseOwner(text)
      if (owner !== workflow) {
        return yield* new StateBackendError({
          backend: "file",
          operation,
          message: owner === undefined
            ? `${file} is unreadable; refusing to use the state directory ${directory}`
            : `the state directory ${directory} belongs to workflow '${owner}', not '${workflow}'; give each workflow its own state directory`
        })
      }
    })

  const recordIds = (operation: string, directory: string) =>
    Effect.map(attempt(operation, `cannot list ${directory}`, () => Files.listNames(directory)), (names) => {
      const ids: Array<number> = []
      for (const name of names) {
        const id = Files.recordId(name)
        if (id !== undefined) ids.push(id)
      }
      return { names, ids }
    })

  /** Reads and decodes one record; `undefined` (with a warning) when it is damaged. */
  const load = (operation: string, directory: string, workflow: string, id: number) =>
    Effect.gen(function*() {
      const file = path.join(directory, Files.recordFile(id))
      const key = yield* attempt(operation, `cannot stat ${file}`, () => Files.statKey(file))
      const text = yield* attempt(operation, `cannot read ${file}`, () => Files.readText(file))
      if (text === undefined || key === undefined) return undefined
      const damaged = (reason: string) => {
        metas.set(file, { key, meta: undefined, info: undefined })
        return Effect.as(Effect.logWarning(`ignoring checkpoint file ${file}: ${reason}`), undefined)
      }
      const decoded = readRecord(text)
      if (!decoded.ok) return yield* damaged(decoded.reason)
      const record = decoded.record
      if (record.id !== id) return yield* damaged(`it holds checkpoint ${record.id}`)
      if (record.workflow !== workflow) {
        return yield* new StateBackendError({
          backend: "file",
          operation,
          message: `${file} holds a checkpoint of workflow '${record.workflow}', not '${workflow}'; refusing to mix workflows`
        })
      }
      const known = metas.get(file)
      metas.set(file, { key, meta: { id, full: record.full }, info: known?.key === key ? known.info : undefined })
      return record
    })

  /**
   * The cached metadata of a record file, reading the file when the cache does not match (or,
   * with `withInfo`, holds no `info` yet).
   */
  const metaOf = (operation: string, directory: string, workflow: string, id: number, withInfo = false) =>
    Effect.gen(function*() {
      const file = path.join(directory, Files.recordFile(id))
      const cached = metas.get(file)
      if (cached !== undefined && (cached.meta === undefined || !withInfo || cached.info !== undefined)) {
        const key = yield* attempt(operation, `cannot stat ${file}`, () => Files.statKey(file))
        if (key === cached.key) return cached.meta === undefined ? undefined : { meta: cached.meta, info: cached.info }
      }
      const record = yield* load(operation, directory, workflow, id)
      if (record === undefined) return undefined
      const entry = metas.get(file)
      if (entry !== undefined && withInfo) entry.info = info(record)
      return { meta: { id, full: record.full }, info: entry?.info }
    })

  const prune = (directory: string, workflow: string) =>
    Effect.gen(function*() {
      const { ids, names } = yield* recordIds("prune", directory)
      ids.sort((a, b) => a - b)
      const valid: Array<Meta> = []
      for (const id of ids) {
        const m = yield* metaOf("prune", directory, workflow, id)
        if (m !== undefined) valid.push(m.meta)
      }
      const keep = retainedIds(valid)
      // with no readable record at all, keep every record file (only temp files go)
      const oldest = keep.size === 0 ? -1 : Math.min(...keep)
      const drop = names.filter((name) => {
        const id = Files.recordId(name)
        return Files.isTemp(name) || (id !== undefined && id < oldest)
      })
      for (const name of drop) metas.delete(path.join(directory, name))
      yield* attempt("prune", `cannot remove old checkpoints in ${directory}`, () => Files.removeAll(directory, drop))
    })

  const backend: Backend = {
    name: "file",
    write: (record) =>
      lock.withPermit(Effect.gen(function*() {
        if (!validId(record.id)) {
          return yield* new StateBackendError({ backend: "file", operation: "write", message: `invalid checkpoint id ${record.id}` })
        }
        const directory = dirOf(record.workflow)
        const encoded = yield* Effect.try({
          try: () => encodeRecord(record),
          catch: (cause) =>
            new StateBackendError({ backend: "file", operation: "write", message: `checkpoint ${record.id} is not JSON: ${String(cause)}`, cause })
        })
        yield* checkOwner("write", directory, record.workflow, true)
        yield* checkLease("write", directory)
        yield* lockDirectory("write", directory)
        // Records after this id belong to a timeline abandoned by a restore: they go first (and
        // durably), so a crash can never leave them chained to the new record.
        const { names } = yield* recordIds("write", directory)
        const later = names.filter((name) => (Files.recordId(name) ?? -1) > record.id)
        if (later.length > 0) {
          for (const name of later) metas.delete(path.join(directory, name))
          yield* attempt("write", `cannot remove superseded checkpoints in ${directory}`, async () => {
            await Files.removeAll(directory, later)
            if (sync) await Files.syncDirectory(directory)
          })
        }
        const name = Files.recordFile(record.id)
        const file = path.join(directory, name)
        yield* attempt("write", `cannot write ${file}`, () => Files.writeAtomic(directory, name, encoded.json, sync))
        const key = yield* attempt("write", `cannot stat ${file}`, () => Files.statKey(file))
        yield* seed(directory)
        if (key !== undefined) metas.set(file, { key, meta: { id: record.id, full: record.full }, info: encoded.info })
        yield* prune(directory, record.workflow)
        yield* persist(directory)
      })),
    latest: (workflow) =>
      lock.withPermit(Effect.gen(function*() {
        const directory = dirOf(workflow)
        yield* checkOwner("latest", directory, workflow, false)
        const { ids } = yield* recordIds("latest", directory)
        return yield* latestChain(ids, (id) => load("latest", directory, workflow, id))
      })),
    list: (workflow, limit) =>
      lock.withPermit(Effect.gen(function*() {
        const directory = dirOf(workflow)
        yield* checkOwner("list", directory, workflow, false)
        yield* seed(directory)
        const { ids } = yield* recordIds("list", directory)
        ids.sort((a, b) => b - a)
        const out: Array<CheckpointInfo> = []
        for (const id of ids) {
          if (out.length >= limit) break
          const m = yield* metaOf("list", directory, workflow, id, true)
          if (m?.info !== undefined) out.push(m.info)
        }
        return out
      })),
    clear: (workflow) =>
      lock.withPermit(Effect.gen(function*() {
        const directory = dirOf(workflow)
        yield* checkOwner("clear", directory, workflow, false)
        const { names } = yield* recordIds("clear", directory)
        if (names.length === 0) return
        yield* checkLease("clear", directory)
        yield* lockDirectory("clear", directory)
        const drop = names.filter((name) => Files.recordId(name) !== undefined || Files.isTemp(name) || name === INDEX_FILE)
        for (const name of drop) metas.delete(path.join(directory, name))
        yield* attempt("clear", `cannot remove checkpoints in ${directory}`, async () => {
          await Files.removeAll(directory, drop)
          if (sync && drop.length > 0) await Files.syncDirectory(directory)
        })
      })),
    lock: (workflow) =>
      Effect.acquireRelease(
        lock.withPermit(Effect.gen(function*() {
          const directory = dirOf(workflow)
          const key = path.resolve(directory)
          // the lock file tells processes apart; runs inside this process are told apart here
          if (leases.has(key)) {
            return yield* new StateBackendError({
              backend: "file",
              operation: "lock",
              reason: "LockHeld",
              message: `the state directory ${directory} is being written by another run in this process (${process.pid})`
            })
          }
          yield* checkOwner("lock", directory, workflow, true)
          yield* lockDirectory("lock", directory)
          leases.add(key)
          return { directory, key }
        })),
        ({ directory, key }) =>
          lock.withPermit(Effect.suspend(() => {
            leases.delete(key)
            locked.delete(directory)
            return Effect.promise(() => Files.releaseLock(directory).catch(() => undefined))
          }))
      ).pipe(Effect.asVoid)
  }
  const release = lock.withPermit(Effect.gen(function*() {
    for (const directory of locked) yield* Effect.promise(() => Files.releaseLock(directory).catch(() => undefined))
    locked.clear()
  }))
  return { backend, release }
}

/**
 * A Layer providing the file backend as the {@link StateBackend}.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<StateBackend> => Layer.effect(StateBackend, scoped(options))

/** State directories (resolved) whose lease a run of this process holds, over every backend instance. */
const leases = new Set<string>()

const IndexSchema = Schema.Struct({
  format: Schema.Literal(1),
  entries: Schema.Array(Schema.Struct({ key: Schema.String, info: InfoSchema }))
})

const parseJson = (text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string } => {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, reason: String(error) }
  }
}

const parseOwner = (text: string): string | undefined => {
  const json = parseJson(text)
  const value = json.ok ? json.value : undefined
  return typeof value === "object" && value !== null && "workflow" in value && typeof value.workflow === "string"
    ? value.workflow
    : undefined
}
