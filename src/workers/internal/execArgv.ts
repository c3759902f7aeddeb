/**
 * The `execArgv` of the worker threads DataFlare starts (CSV range readers, `worker_map` pools).
 *
 * Where Node strips TypeScript types by default (22.18 and later), `undefined`: the thread
 * inherits the process's flags as they are. A worker given `execArgv` explicitly refuses V8 flags
 * and per-process flags (`node --max-old-space-size=4096 app.ts` made every worker fail with
 * "invalid execArgv flags"); inherited, they are accepted. On earlier 22.x releases, which need
 * `--experimental-strip-types` to load a `.ts` module, the process's flags without the V8 and
 * per-process ones a worker refuses, plus that flag.
 */

/** Flags a worker refuses when they are given explicitly (V8 heap and code flags, process-wide ones). */
const REFUSED = /^--(max-old-space-size|max-semi-space-size|min-semi-space-size|max-heap-size|stack-size|jitless|expose-gc|expose_gc|title|max-http-header-size|secure-heap|secure-heap-min|v8-options|disallow-code-generation-from-strings|huge-max-old-generation-size|interpreted-frames-native-stack|perf-basic-prof|perf-basic-prof-only-functions|perf-prof|perf-prof-unwinding-info)(=|$)/

/**
 * The `execArgv` option for a new worker thread: `undefined` to inherit, or the flags to pass.
 *
 * @param features the `process.features` to read (for tests), default the process's own
 * @param argv the process's `execArgv` (for tests)
 */
export const workerExecArgv = (
  features: { readonly typescript?: unknown } = process.features as { readonly typescript?: unknown },
  argv: ReadonlyArray<string> = process.execArgv
): Array<string> | undefined =>
  features.typescript === "strip" || features.typescript === "transform"
    ? undefined
    : [...argv.filter((flag) => !REFUSED.test(flag)), "--experimental-strip-types"]
