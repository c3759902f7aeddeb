/**
 * Runs `./bin/dataflare` as a real child process, and makes temporary directories for the
 * workflow files and data of a test.
 */
import { execFile } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Effect, type Scope } from "effect"

/** The launcher under test. */
export const bin = resolve(import.meta.dirname, "../../bin/dataflare")

/** What a CLI invocation printed and how it exited. */
export interface CliResult {
  readonly status: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI with `args` in `cwd`, with extra environment variables. */
export const cli = (
  args: ReadonlyArray<string>,
  options?: { readonly cwd?: string; readonly env?: Record<string, string> }
): Effect.Effect<CliResult> =>
  Effect.callback<CliResult>((resume) => {
    execFile(
      bin,
      [...args],
      { cwd: options?.cwd ?? tmpdir(), env: { ...process.env, NO_COLOR: "1", ...options?.env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resume(Effect.succeed({ status: code, stdout: String(stdout), stderr: String(stderr) }))
      }
    )
  })

/** A temporary directory, removed when the scope closes. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-cli-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

/** A TCP server that accepts connections and never answers; closed (with its sockets) with the scope. */
export const silentServer = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<{ readonly port: number; readonly close: () => void }>((resolve, reject) => {
      const sockets = new Set<Socket>()
      const server = createServer((socket) => {
        sockets.add(socket)
        socket.on("error", () => {})
      })
      server.on("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resolve({
          port,
          close: () => {
            for (const socket of sockets) socket.destroy()
            server.close()
          }
        })
      })
    })
  ),
  (server) => Effect.sync(server.close)
)

/** A free TCP port on loopback: bound by the OS, then closed again (nothing listens on it). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** A TCP port nothing listens on: bound by the OS, then closed again. */
export const closedPort = Effect.promise(freePort)
