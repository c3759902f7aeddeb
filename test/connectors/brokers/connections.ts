/**
 * How many TCP connections this test process holds open to a local server port: its sockets
 * (`/proc/self/fd`) matched with the kernel's established TCP connections (`/proc/self/net/tcp`,
 * `tcp6`) whose remote port is `port`. What the server sees as this process's clients, counted
 * without asking the server (NATS and RabbitMQ run without their monitoring APIs here).
 */
import { readdir, readFile, readlink } from "node:fs/promises"
import { Effect } from "effect"

const ESTABLISHED = "01"

const socketInodes = async (): Promise<Set<string>> => {
  const inodes = new Set<string>()
  for (const fd of await readdir("/proc/self/fd")) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "")
    const m = /^socket:\[(\d+)\]$/u.exec(target)
    if (m !== null) inodes.add(m[1])
  }
  return inodes
}

const connectionInodes = async (port: number): Promise<Array<string>> => {
  const out: Array<string> = []
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => "")
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/u)
      if (cols.length < 10) continue
      const remotePort = Number.parseInt(cols[2].split(":")[1] ?? "", 16)
      if (remotePort === port && cols[3] === ESTABLISHED) out.push(cols[9])
    }
  }
  return out
}

/** The established TCP connections of this process to `port`. */
export const connectionsTo = (port: number): Effect.Effect<number> =>
  Effect.promise(async () => {
    const mine = await socketInodes()
    return (await connectionInodes(port)).filter((inode) => mine.has(inode)).length
  })
