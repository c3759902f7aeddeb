import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import * as FileBackend from "../../src/backends/FileBackend.ts"
import { backendSuite } from "../../src/testing/backendSuite.ts"

/** A temp directory removed with the scope. */
const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "dataflare-file-backend-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

backendSuite("file backend (one directory per workflow under a root)", Effect.map(tempDir, (root) => FileBackend.make({ root })))
backendSuite("file backend (a fixed state directory)", Effect.map(tempDir, (directory) => FileBackend.make({ directory })), { workflows: "one" })
