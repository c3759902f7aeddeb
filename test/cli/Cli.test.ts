// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow texts contain ${VAR} references
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import packageJson from "../../package.json" with { type: "json" }
import { cli, tempDir } from "./support.ts"

const write = (path: string, text: string) => Effect.promise(() => writeFile(path, text))

describe("dataflare (process)", () => {
  it.live("--help lists the commands and exits 0", () =>
    Effect.gen(function*() {
      const result = yield* cli(["--help"])
      assert.strictEqual(result.status, 0)
      assert.match(result.stdout, /USAGE\n\s+dataflare <subcommand>/)
      assert.match(result.stdout, /\n\s+run\s+Run a workflow/)
      assert.match(result.stdout, /\n\s+validate\s+Check a workflow/)
      assert.strictEqual(result.stderr, "")
    }))

  it.live("run --help shows the argument and the --quiet flag", () =>
    Effect.gen(function*() {
      const result = yield* cli(["run", "--help"])
      assert.strictEqual(result.status, 0)
      assert.match(result.stdout, /dataflare run \[flags\] <workflow>/)
      assert.match(result.stdout, /--quiet, -q/)
    }))

  it.live("--version prints the package version", () =>
    Effect.gen(function*() {
      const result = yield* cli(["--version"])
      assert.strictEqual(result.status, 0)
      assert.strictEqual(result.stdout.trim(), `dataflare v${packageJson.version}`)
    }))

  it.live("a usage error exits 2 with the problem on stderr and nothing on stdout", () =>
    Effect.gen(function*() {
      const [unknown, missing] = yield* Effect.all([cli(["valdate", "x.yaml"]), cli(["validate"])], { concurrency: 2 })
      assert.strictEqual(unknown.status, 2)
      assert.strictEqual(unknown.stdout, "")
      assert.match(unknown.stderr, /^error: Unknown subcommand "valdate"/)
      assert.match(unknown.stderr, /validate/)
      assert.strictEqual(missing.status, 2)
      assert.strictEqual(missing.stderr, "error: Missing required argument: workflow\nrun 'dataflare validate --help' for usage\n")
    }))

  it.live("validate prints every definition problem as file:line:col path: message and exits 1", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "bad.yaml")
      yield* write(
        file,
        `name: bad
execution:
  batch_size: -1
sources:
  in:
    type: csv
    config: { path: "\${DATAFLARE_TEST_UNSET_VAR}" }
destinations:
  out:
    type: ndjson
    inputz: [in]
`
      )
      const result = yield* cli(["validate", "bad.yaml"], { cwd: dir })
      assert.strictEqual(result.status, 1)
      assert.strictEqual(result.stdout, "")
      assert.strictEqual(
        result.stderr,
        [
          "bad.yaml:3:3 execution.batch_size: expected a value greater than 0, got -1",
          "bad.yaml:7:22 sources.in.config.path: environment variable DATAFLARE_TEST_UNSET_VAR is not set (write ${DATAFLARE_TEST_UNSET_VAR:-default} for a default)",
          "bad.yaml:9:3 destinations.out: destination 'out' has no 'inputs' (the ids of the nodes it reads from)",
          "bad.yaml:11:5 destinations.out.inputz: unknown key 'inputz' in destination 'out' (did you mean 'inputs'?); valid keys: type, inputs, parallelism, config, key_by, ordered",
          "invalid: bad.yaml (4 problems)",
          ""
        ].join("\n")
      )
    }))

  it.live("the environment reaches ${VAR} substitution", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(
        join(dir, "env.yaml"),
        "name: env\nexecution:\n  batch_size: ${DATAFLARE_TEST_BATCH}\nsources:\n  in: { type: csv }\ndestinations:\n  out: { type: ndjson, inputs: [in], bogus: 1 }\n"
      )
      const result = yield* cli(["validate", "env.yaml"], { cwd: dir, env: { DATAFLARE_TEST_BATCH: "0" } })
      assert.strictEqual(result.status, 1)
      // the variable was substituted (and typed as a number), so the value itself is what is wrong
      assert.match(result.stderr, /^env\.yaml:3:3 execution\.batch_size: expected a value greater than 0, got 0$/m)
    }))

  it.live("a YAML syntax error and a missing file exit 1 without a stack trace", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "syntax.yaml"), "name: x\nsources:\n  in:\n    type: \"csv\n")
      const [syntax, missing] = yield* Effect.all([
        cli(["validate", "syntax.yaml"], { cwd: dir }),
        cli(["run", "nope.yaml"], { cwd: dir })
      ], { concurrency: 2 })
      assert.strictEqual(syntax.status, 1)
      assert.strictEqual(
        syntax.stderr,
        "syntax.yaml:5:1: YAML syntax error: Missing closing \"quote\ninvalid: syntax.yaml (1 problem)\n"
      )
      assert.strictEqual(missing.status, 1)
      assert.strictEqual(missing.stderr, "nope.yaml: cannot read workflow file: no such file\ninvalid: nope.yaml (1 problem)\n")
      assert.notMatch(missing.stderr, /\n\s+at /)
    }))
})
