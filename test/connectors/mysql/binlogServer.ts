/**
 * A binlog-enabled MariaDB for the `mysql-cdc` tests (the shared server runs with the binlog off):
 * `mariadb-install-db` into a temp dir, then `mariadbd` on a free loopback port with
 * `--log-bin --binlog-format=ROW`; stopped and removed when the scope closes. One per test file
 * (it takes a few seconds to start).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { freePort } from "../../cli/support.ts"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import mysql from "mysql2/promise"
import { afterAll, beforeAll } from "@effect/vitest"

const run = promisify(execFile)

/** A running server: its URL (root, no password) and how to stop it. */
export interface BinlogServer {
  readonly url: string
  readonly port: number
  readonly stop: () => Promise<void>
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
  })

/** Starts a server (see the module doc). */
export const startBinlogServer = async (serverId = 1): Promise<BinlogServer> => {
  const dir = await mkdtemp(join(tmpdir(), "df-mariadb-"))
  const data = join(dir, "data")
  const asRoot = process.getuid?.() === 0 ? ["--user=root"] : []
  await run("mariadb-install-db", [
    "--no-defaults",
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
    `--datadir=${data}`,
    ...asRoot
  ], { timeout: 120_000 })
  const port = await freePort()
  const child = spawn("mariadbd", [
    "--no-defaults",
    `--datadir=${data}`,
    `--port=${port}`,
    "--bind-address=127.0.0.1",
    `--socket=${join(dir, "sock")}`,
    `--pid-file=${join(dir, "pid")}`,
    `--log-bin=${join(dir, "binlog")}`,
    "--binlog-format=ROW",
    `--server-id=${serverId}`,
    "--skip-name-resolve",
    "--innodb-buffer-pool-size=32M",
    `--log-error=${join(dir, "error.log")}`,
    ...asRoot
  ], { stdio: "ignore" })
  const url = `mysql://root@127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
    await exited(child)
    clearTimeout(timer)
    await rm(dir, { recursive: true, force: true })
  }
  for (let i = 0;; i++) {
    try {
      const conn = await mysql.createConnection({ uri: url })
      await conn.end()
      return { url, port, stop }
    } catch (e) {
      if (i >= 120 || child.exitCode !== null) {
        await stop()
        throw new Error(`mariadbd did not start on port ${port}: ${String(e)}`)
      }
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

/**
 * A binlog-enabled server for the tests of the file (or `describe` block) this is called in:
 * started before them, stopped after them. Its `url` and `port` are read inside the tests.
 */
export const useBinlogServer = (serverId: number): BinlogServer => {
  let server: BinlogServer | undefined
  const started = (): BinlogServer => {
    if (server === undefined) throw new Error("the binlog server starts before the tests: read it inside them")
    return server
  }
  beforeAll(async () => {
    server = await startBinlogServer(serverId)
  }, 120_000)
  afterAll(async () => {
    await server?.stop()
  }, 60_000)
  return {
    get url() {
      return started().url
    },
    get port() {
      return started().port
    },
    stop: () => started().stop()
  }
}
