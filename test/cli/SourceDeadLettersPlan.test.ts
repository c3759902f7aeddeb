/**
 * `dataflare plan` and `validate` show a file source's dead-letter setting: where its records go
 * and which (`on_error: dead_letter` — malformed records, `oversize: dead_letter`, or both), and
 * `validate` names a missing `dead_letter` or an unknown `on_error` at its line.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "./support.ts"

const workflow = (events: string, orders: string) =>
  [
    "name: source-letters-plan",
    "sources:",
    `  events: { type: ndjson, config: { path: events.ndjson${events} } }`,
    `  orders: { type: csv, config: { path: orders.csv${orders} } }`,
    "destinations:",
    "  out: { type: ndjson, inputs: [events, orders], config: { path: out.ndjson } }"
  ].join("\n") + "\n"

describe("dataflare plan / validate: a file source's dead letters", () => {
  it.live("plan names the dead-letter file and which records go there", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "events.ndjson"), '{"a":1}\n'))
      yield* Effect.promise(() => writeFile(join(dir, "orders.csv"), "id\n1\n"))
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "wf.yaml"),
          workflow(", on_error: dead_letter, dead_letter: { path: bad-events.ndjson }", ", on_error: dead_letter, oversize: dead_letter, dead_letter: { path: bad-orders.ndjson }")
        )
      )
      const plan = yield* cli(["plan", "wf.yaml"], { cwd: dir })
      assert.strictEqual(plan.status, 0, plan.stderr)
      assert.include(plan.stdout, "source: events (ndjson), parallelism 1 (auto), dead letters → bad-events.ndjson (malformed records)")
      assert.include(plan.stdout, "dead letters → bad-orders.ndjson (malformed and oversize records)")
    }).pipe(Effect.scoped))

  it.live("validate refuses on_error: dead_letter without dead_letter, and an unknown on_error, at their lines", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow(", on_error: dead_letter", ", on_error: skip")))
      const validated = yield* cli(["validate", "wf.yaml"], { cwd: dir })
      assert.notStrictEqual(validated.status, 0)
      assert.include(validated.stderr, "wf.yaml:3:")
      assert.include(validated.stderr, "sources.events.config.dead_letter: on_error: dead_letter needs dead_letter: { path }")
      assert.include(validated.stderr, 'sources.orders.config.on_error: Expected "fail" | "dead_letter"')
    }).pipe(Effect.scoped))
})
