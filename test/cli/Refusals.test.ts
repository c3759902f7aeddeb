// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow texts contain ${VAR} references
/**
 * Workflows that would lose or corrupt data are refused by `validate` and by `run` before any
 * connector is opened: a sink writing its own input, two sinks on one file (however the paths
 * are written), a parallelism a connector cannot run, a node id that reads as a side output.
 */
import { mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "./support.ts"

const write = (path: string, text: string) => Effect.promise(() => writeFile(path, text))
const read = (path: string) => Effect.promise(() => readFile(path, "utf8"))
const exists = (path: string) => Effect.promise(() => stat(path).then(() => true, () => false))

const ORDERS = "id,amount\n1,5\n2,7\n3,9\n"

describe("refused before anything is opened (process)", () => {
  it.live("a sink whose path is its source's, through ${VAR} and ./, is refused by validate and run; the input is untouched", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => mkdir(join(dir, "data")))
      yield* write(join(dir, "data/orders.csv"), ORDERS)
      yield* write(
        join(dir, "wf.yaml"),
        `name: same-file
sources:
  orders:
    type: csv
    config: { path: "\${DATA}/orders.csv" }
destinations:
  out:
    type: csv
    inputs: [orders]
    config: { path: ./data/../data/orders.csv }
`
      )
      const env = { DATA: "data" }
      const [validate, run] = yield* Effect.all([
        cli(["validate", "wf.yaml"], { cwd: dir, env }),
        cli(["run", "wf.yaml"], { cwd: dir, env })
      ], { concurrency: 2 })
      const expected = [
        "wf.yaml:10:15 destinations.out.config.path: the file './data/../data/orders.csv' is 'data/orders.csv', read by source 'orders' (sources.orders.config.path, line 5): writing it would empty the input before it is read; write to another file",
        "invalid: wf.yaml (1 problem)",
        ""
      ].join("\n")
      for (const result of [validate, run]) {
        assert.strictEqual(result.status, 1)
        assert.strictEqual(result.stdout, "")
        assert.strictEqual(result.stderr, expected)
      }
      assert.strictEqual(yield* read(join(dir, "data/orders.csv")), ORDERS)
      // nothing was opened: no journal next to the would-be output
      assert.isFalse(yield* exists(join(dir, "data/.orders.csv.checkpoints")))
    }))

  it.live("two sinks on one file through a symbolic link are refused; a workflow file overwritten by a sink too", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "in.csv"), ORDERS)
      yield* write(join(dir, "out.ndjson"), "kept\n")
      yield* Effect.promise(() => symlink("out.ndjson", join(dir, "link.ndjson")))
      yield* write(
        join(dir, "wf.yaml"),
        `name: two-writers
sources:
  in: { type: csv, config: { path: in.csv } }
destinations:
  a: { type: ndjson, inputs: [in], config: { path: out.ndjson } }
  b: { type: ndjson, inputs: [in], config: { path: link.ndjson } }
  c: { type: csv, inputs: [in], config: { path: wf.yaml } }
`
      )
      const result = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.status, 1)
      assert.strictEqual(
        result.stderr,
        [
          "wf.yaml:6:46 destinations.b.config.path: the file 'link.ndjson' is 'out.ndjson', also written by destination 'a' (destinations.a.config.path, line 5): two writers of one file lose each other's records; give each its own file",
          "wf.yaml:7:43 destinations.c.config.path: the file 'wf.yaml' is the workflow file itself; write to another file",
          "invalid: wf.yaml (2 problems)",
          ""
        ].join("\n")
      )
      assert.strictEqual(yield* read(join(dir, "out.ndjson")), "kept\n")
    }))

  it.live("a dead-letter file counts as written: a postgres sink's dead_letter on another sink's path is refused", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "in.csv"), ORDERS)
      yield* write(
        join(dir, "wf.yaml"),
        `name: dead-letters
sources:
  in: { type: csv, config: { path: in.csv } }
destinations:
  files: { type: ndjson, inputs: [in], config: { path: rejected.ndjson } }
  db:
    type: postgres
    inputs: [in]
    config:
      connection_string: postgres://nobody@127.0.0.1:1/none
      table: orders
      on_error: dead_letter
      dead_letter: { path: ./rejected.ndjson }
`
      )
      const result = yield* cli(["validate", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.status, 1)
      assert.match(
        result.stderr,
        /^wf\.yaml:13:22 destinations\.db\.config\.dead_letter\.path: the file '\.\/rejected\.ndjson' is 'rejected\.ndjson', also written by destination 'files' \(destinations\.files\.config\.path, line 5\)/
      )
    }))

  it.live("a file source's dead-letter file counts as written: on a sink's path, or on its own input, it is refused by validate and run", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "in.csv"), ORDERS)
      yield* write(join(dir, "events.ndjson"), '{"id":1}\n')
      yield* write(
        join(dir, "wf.yaml"),
        `name: source-dead-letters
sources:
  orders: { type: csv, config: { path: in.csv, oversize: dead_letter, dead_letter: { path: skipped.ndjson } } }
  events: { type: ndjson, config: { path: events.ndjson, oversize: dead_letter, dead_letter: { path: ./events.ndjson } } }
destinations:
  out: { type: ndjson, inputs: [orders, events], config: { path: skipped.ndjson } }
`
      )
      const [validate, run] = yield* Effect.all([cli(["validate", "wf.yaml"], { cwd: dir }), cli(["run", "wf.yaml"], { cwd: dir })], { concurrency: 2 })
      const expected = [
        "wf.yaml:4:96 sources.events.config.dead_letter.path: the file './events.ndjson' is 'events.ndjson', read by source 'events' (sources.events.config.path, line 4): writing it would empty the input before it is read; write to another file",
        "wf.yaml:6:60 destinations.out.config.path: the file 'skipped.ndjson' is also written by source 'orders' (sources.orders.config.dead_letter.path, line 3): two writers of one file lose each other's records; give each its own file",
        "invalid: wf.yaml (2 problems)",
        ""
      ].join("\n")
      for (const result of [validate, run]) {
        assert.strictEqual(result.status, 1)
        assert.strictEqual(result.stderr, expected)
      }
      assert.isFalse(yield* exists(join(dir, "skipped.ndjson")), "nothing was opened")
      assert.strictEqual(yield* read(join(dir, "events.ndjson")), '{"id":1}\n')
    }))

  it.live("execution.parallelism applies to a single-file sink up to 1: validate is ok and the run writes every record", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "in.csv"), ORDERS)
      yield* write(
        join(dir, "wf.yaml"),
        `name: wide
execution: { parallelism: 2 }
sources:
  in: { type: csv, config: { path: in.csv, columns: { id: integer, amount: integer } } }
transformations:
  big: { type: filter, inputs: [in], config: { condition: "amount > 5" } }
destinations:
  out: { type: ndjson, inputs: [big], config: { path: out.ndjson } }
`
      )
      const validate = yield* cli(["validate", "wf.yaml"], { cwd: dir })
      assert.strictEqual(validate.status, 0, validate.stderr)
      const plan = yield* cli(["plan", "wf.yaml"], { cwd: dir })
      assert.match(plan.stdout, /sink: out \(ndjson\), parallelism 1,/)
      const run = yield* cli(["run", "wf.yaml", "-q"], { cwd: dir })
      assert.strictEqual(run.status, 0, run.stderr)
      const lines = (yield* read(join(dir, "out.ndjson"))).trim().split("\n").map((l) => JSON.parse(l) as { id: number })
      assert.deepStrictEqual(lines.map((r) => r.id).sort(), [2, 3])
    }))

  it.live("an explicit parallelism a connector cannot run is a validate error naming the node and line", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "in.ndjson"), "{\"id\":1}\n")
      yield* write(
        join(dir, "wf.yaml"),
        `name: too-wide
sources:
  in: { type: mqtt, parallelism: 2, config: { url: "mqtt://127.0.0.1:1", topic: t, client_id: c } }
destinations:
  out:
    type: csv
    inputs: [in]
    parallelism: 4
    config: { path: out.csv }
  screen: { type: stdout, inputs: [in], parallelism: 2 }
  db:
    type: postgres
    inputs: [in]
    parallelism: 2
    config: { connection_string: "postgres://nobody@127.0.0.1:1/none", table: t, mode: replace }
`
      )
      const result = yield* cli(["validate", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.status, 1)
      assert.strictEqual(
        result.stderr,
        [
          "wf.yaml:3:21 sources.in.parallelism: the mqtt source runs at most 1 instance, got parallelism 2; set parallelism: 1 or remove it",
          "wf.yaml:8:5 destinations.out.parallelism: the csv destination runs at most 1 instance, got parallelism 4; set parallelism: 1 or remove it",
          "wf.yaml:10:41 destinations.screen.parallelism: the stdout destination runs at most 1 instance, got parallelism 2; set parallelism: 1 or remove it",
          "wf.yaml:14:5 destinations.db.parallelism: the postgres destination runs at most 1 instance, got parallelism 2; set parallelism: 1 or remove it",
          "invalid: wf.yaml (4 problems)",
          ""
        ].join("\n")
      )
    }))

  it.live("a node named like another node's side output (agg.late) is refused as ambiguous; a.b without a node a is fine", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(
        join(dir, "wf.yaml"),
        `name: ambiguous
sources:
  in: { type: memory, config: { records: [{ k: a, t: 1 }] } }
transformations:
  agg:
    type: aggregate
    inputs: [in]
    config: { group_by: [k], time_field: t, window: { type: tumbling, size: 1s }, late: side_output, aggregates: { n: { op: count } } }
  agg.late: { type: filter, inputs: [in], config: { condition: "true" } }
  x.y: { type: filter, inputs: [in], config: { condition: "true" } }
destinations:
  out: { type: collect, inputs: [agg, agg.late, x.y] }
`
      )
      const result = yield* cli(["validate", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.status, 1)
      assert.strictEqual(
        result.stderr,
        [
          "wf.yaml:9:3 transformations.agg.late: node id 'agg.late' reads as the side output 'late' of node 'agg', so an input naming it is ambiguous; rename the node (e.g. 'agg_late')",
          "invalid: wf.yaml (1 problem)",
          ""
        ].join("\n")
      )
    }))

  it.live("durations: one syntax everywhere, and intervals that must be positive are refused at 0 by validate", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const cdc = (heartbeat: string) => `
sources:
  cdc:
    type: postgres-cdc
    config: { connection_string: "postgres://nobody@127.0.0.1:1/none", publication: p1, slot: s1, heartbeat_interval: ${heartbeat} }
destinations:
  out: { type: ndjson, inputs: [cdc], config: { path: out.ndjson } }
`
      yield* write(
        join(dir, "execution.yaml"),
        `name: durations
execution:
  checkpoint_interval: 0s
  restart_strategy: { type: failure-rate, max_failures: 3, interval: 0, delay: 1 minute }${cdc("30s")}`
      )
      // the connector's durations are the workflow's: 0 refused, "30 s" refused in both places, "1.5m" accepted
      yield* write(join(dir, "connector.yaml"), `name: durations${cdc("0ms")}`)
      yield* write(join(dir, "spaced.yaml"), `name: durations\nexecution: { checkpoint_interval: 30 s }${cdc("30 s")}`)
      yield* write(join(dir, "valid.yaml"), `name: durations\nexecution: { checkpoint_interval: 1.5m }${cdc("250")}`)
      const [execution, connector, spaced, valid] = yield* Effect.all([
        cli(["validate", "execution.yaml"], { cwd: dir }),
        cli(["validate", "connector.yaml"], { cwd: dir }),
        cli(["validate", "spaced.yaml"], { cwd: dir }),
        cli(["validate", "valid.yaml"], { cwd: dir })
      ], { concurrency: 2 })
      assert.strictEqual(
        execution.stderr,
        [
          "execution.yaml:3:3 execution.checkpoint_interval: expected a duration greater than 0, got \"0s\"",
          "execution.yaml:4:60 execution.restart_strategy.interval: expected a duration greater than 0, got 0",
          "execution.yaml:4:73 execution.restart_strategy.delay: expected a duration such as 500ms, 30s, 5m or 1h, got \"1 minute\"",
          "invalid: execution.yaml (3 problems)",
          ""
        ].join("\n")
      )
      assert.strictEqual(connector.status, 1)
      assert.match(connector.stderr, /^connector\.yaml:5:99 sources\.cdc\.config\.heartbeat_interval: expected a duration greater than 0\n/)
      assert.strictEqual(spaced.status, 1)
      assert.match(spaced.stderr, /^spaced\.yaml:2:14 execution\.checkpoint_interval: expected a duration such as 500ms, 30s, 5m or 1h, got "30 s"\n/)
      assert.strictEqual(valid.status, 0, valid.stderr)
    }))

  it.live("PostgreSQL tables: a change stream of a table the workflow writes, or a truncated table it reads, is refused; inserts beside a snapshot are not", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const url = "postgres://app:secret@127.0.0.1:5432/shop"
      const pg = (extra: string) => `{ connection_string: "${url}", ${extra} }`
      yield* write(
        join(dir, "refused.yaml"),
        `name: tables
sources:
  changes: { type: postgres-cdc, config: ${pg("publication: p1, slot: s1, tables: [public.orders]")} }
  snapshot: { type: postgres, config: ${pg("table: customers")} }
destinations:
  copy: { type: postgres, inputs: [changes], config: ${pg("table: Orders")} }
  fresh: { type: postgres, inputs: [snapshot], config: ${pg("table: public.customers, mode: replace")} }
`
      )
      yield* write(
        join(dir, "accepted.yaml"),
        `name: tables
sources:
  snapshot: { type: postgres, config: ${pg("table: customers")} }
destinations:
  back: { type: postgres, inputs: [snapshot], config: ${pg("table: public.customers, mode: upsert")} }
  audit: { type: postgres, inputs: [snapshot], config: ${pg("table: customers")} }
`
      )
      const [refused, accepted] = yield* Effect.all([
        cli(["validate", "refused.yaml"], { cwd: dir }),
        cli(["validate", "accepted.yaml"], { cwd: dir })
      ], { concurrency: 2 })
      assert.strictEqual(refused.status, 1)
      assert.strictEqual(
        refused.stderr,
        [
          "refused.yaml:6:120 destinations.copy.config.table: the postgres-table '127.0.0.1:5432/shop public.orders' is read by source 'changes' (sources.changes.config.tables[0], line 3): the workflow would read what it writes; write to another postgres-table",
          "refused.yaml:7:122 destinations.fresh.config.table: the postgres-table '127.0.0.1:5432/shop public.customers' is read by source 'snapshot' (sources.snapshot.config.table, line 4): the workflow would read what it writes; write to another postgres-table",
          "invalid: refused.yaml (2 problems)",
          ""
        ].join("\n")
      )
      assert.notInclude(refused.stderr, "secret")
      assert.strictEqual(accepted.status, 0, accepted.stderr)
    }))
})

