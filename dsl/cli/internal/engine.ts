/**
 * Everything heavy the commands use (the runtime, every built-in connector, the YAML loader, the
 * state backends), loaded on first use through {@link engine} so that `--help`, `--version` and
 * usage errors start quickly.
 */
import { Effect } from "effect"

/** The modules behind the commands. */
export type Engine = typeof import("./modules.ts")

/** Loads the engine modules (once; later calls reuse the loaded modules). */
export const engine: Effect.Effect<Engine> = Effect.promise(() => import("./modules.ts"))
