/** Helpers of the redis-streams tests: the local server, a stream of its own per test, removed afterwards. */
import { Effect, Redacted, type Scope } from "effect"
import { createClient } from "redis"

export const URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
export const url = Redacted.make(URL)

const make = () => createClient({ url: URL })

export type Client = ReturnType<typeof make>

/** A connected client, closed with the scope. */
export const client: Effect.Effect<Client, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(async () => {
    const c = make()
    c.on("error", () => {})
    await c.connect()
    return c
  }),
  (c) => Effect.promise(() => c.quit().then(() => undefined, () => undefined))
)

/** A fresh stream name, deleted with the scope. */
export const stream = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.gen(function*() {
    const c = yield* client
    const name = `dataflare-test-${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
    yield* Effect.addFinalizer(() => Effect.promise(() => c.del(name).then(() => undefined, () => undefined)))
    return name
  })

/** Appends `n` entries `{ n: "<i>" }` (i from `from`), pipelined; their ids in order. */
export const fill = (c: Client, name: string, n: number, from = 1, field?: (i: number) => ReadonlyArray<string>) =>
  Effect.promise(async () => {
    const ids: Array<string> = []
    for (let start = 0; start < n; start += 5000) {
      const sent: Array<Promise<unknown>> = []
      for (let i = start; i < Math.min(n, start + 5000); i++) {
        sent.push(c.sendCommand(["XADD", name, "*", ...(field?.(from + i) ?? ["n", String(from + i)])]))
      }
      for (const id of await Promise.all(sent)) ids.push(String(id))
    }
    return ids
  })

/** Pending entries of a group (`XPENDING` summary count). */
export const pendingCount = (c: Client, name: string, group: string) =>
  Effect.promise(async () => {
    const reply = (await c.sendCommand(["XPENDING", name, group])) as ReadonlyArray<unknown>
    return Number(reply[0])
  })

/** A group's pending entries (`XPENDING` summary): how many, and the oldest's id (`null` when none). */
export interface Pending {
  readonly count: number
  readonly oldest: string | null
}

/** The `XPENDING` summary of a group. */
export const pending = (c: Client, name: string, group: string): Effect.Effect<Pending> =>
  Effect.promise(async () => {
    const reply = (await c.sendCommand(["XPENDING", name, group])) as ReadonlyArray<unknown>
    return { count: Number(reply[0]), oldest: reply[1] === null || reply[1] === undefined ? null : String(reply[1]) }
  })
