/**
 * The Node platform services the CLI runs on: what `@effect/platform-node`'s `NodeServices.layer`
 * provides (file system, path, stdio, terminal, child processes), with the child-process spawner
 * loaded on first use. `effect/cli` requires a `ChildProcessSpawner` in its environment, but no
 * command spawns a process; `NodeChildProcessSpawner` imports `node:child_process`, whose loading
 * (with `net`, `dgram`, ...) was ~12 ms of every run's start-up (see docs/cli.md, "Start-up time").
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeStdio from "@effect/platform-node/NodeStdio"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { Effect, Layer } from "effect"
import type { FileSystem } from "effect/FileSystem"
import type { Path } from "effect/Path"
import { ChildProcessSpawner } from "effect/process"

/** A spawner that imports Node's on its first `spawn` and delegates every call to it. */
const lazySpawner: Layer.Layer<ChildProcessSpawner.ChildProcessSpawner, never, FileSystem | Path> = Layer.effect(
  ChildProcessSpawner.ChildProcessSpawner,
  Effect.gen(function*() {
    const services = yield* Effect.context<FileSystem | Path>()
    const node = Effect.promise(() => import("@effect/platform-node/NodeChildProcessSpawner"))
    return ChildProcessSpawner.make((command) =>
      Effect.flatMap(node, (module) =>
        Effect.gen(function*() {
          const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
          return yield* spawner.spawn(command)
        }).pipe(Effect.provide(module.layer), Effect.provideContext(services)))
    )
  })
)

/**
 * `NodeServices.layer` with the child-process spawner loaded on demand.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = Layer.provideMerge(
  lazySpawner,
  Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeStdio.layer, NodeTerminal.layer)
)
