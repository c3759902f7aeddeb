/**
 * Expression steps are checked against the fields the records have when the workflow is
 * prepared (`dataflare validate`, every run), where a source declares its records' exact fields:
 * `amout >= 3` used to read null on every record and filter everything out.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import { DefinitionError } from "../../src/Errors.ts"
import * as Expression from "../../src/expr/Expression.ts"
import * as Runtime from "../../src/Runtime.ts"

const prepare = (yaml: string) =>
  Yaml.parse(yaml, { file: "orders.yaml", env: {} }).pipe(
    Effect.flatMap(Runtime.prepare),
    Effect.provide(Builtins.layer),
    Effect.exit
  )

const issuesOf = (exit: Exit.Exit<unknown, unknown>) => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
  assert.instanceOf(error, DefinitionError)
  return (error as DefinitionError).issues
}

const workflow = (steps: string) => `name: orders
sources:
  orders:
    type: memory
    config:
      records:
        - { id: 1, status: active, amount: 5, address: { city: Berlin } }
        - { id: 2, status: closed, amount: 1 }
${steps}
destinations:
  out: { type: collect, inputs: [last], config: { name: field-check } }
`

describe("expression fields checked when the workflow is prepared", () => {
  it.effect("a condition reading a field the records do not have is refused, naming it, with file:line", () =>
    Effect.gen(function*() {
      const issues = issuesOf(yield* prepare(workflow(`transformations:
  last:
    type: filter
    inputs: [orders]
    config: { condition: "status == 'active' && amout >= 3" }`)))
      assert.strictEqual(issues.length, 1)
      assert.strictEqual(issues[0].path, "transformations.last.config.condition")
      assert.strictEqual(issues[0].message, "the records have no field 'amout' (column 23 of the value) (did you mean 'amount'?); their fields: id, status, amount, address")
      assert.strictEqual(issues[0].location?.line, 13)
    }))

  it.effect("fields flow through filter, map fields, select and rename", () =>
    Effect.gen(function*() {
      const steps = (last: string) => `transformations:
  active: { type: filter, inputs: [orders], config: { condition: "status == 'active' && address.city != null" } }
  taxed: { type: map, inputs: [active], config: { fields: { gross: "amount * 1.2" } } }
  slim: { type: select, inputs: [taxed], config: { fields: [id, gross] } }
  named: { type: rename, inputs: [slim], config: { fields: { gross: total } } }
  last: { type: filter, inputs: [named], config: { condition: "${last}" } }`
      assert.isTrue(Exit.isSuccess(yield* prepare(workflow(steps("total > 5 && id > 0")))))
      // after the rename, `gross` is gone; after the select, `status` too
      const issues = issuesOf(yield* prepare(workflow(steps("gross > 5 || status == 'x'"))))
      assert.deepStrictEqual(issues.map((i) => i.message.slice(0, i.message.indexOf(" ("))), [
        "the records have no field 'gross'",
        "the records have no field 'status'"
      ])
    }))

  it.effect("a rename onto a field the records have is refused, naming the node and both fields", () =>
    Effect.gen(function*() {
      const issues = issuesOf(yield* prepare(workflow(`transformations:
  last: { type: rename, inputs: [orders], config: { fields: { amount: status } } }`)))
      assert.strictEqual(issues.length, 1)
      assert.strictEqual(issues[0].path, "transformations.last.config.fields.amount")
      assert.strictEqual(
        issues[0].message,
        "rename 'last': renaming field 'amount' to 'status' would overwrite the records' field 'status' (its value would be lost); rename or drop 'status' first (select), or rename 'amount' to another name"
      )
      assert.strictEqual(issues[0].location?.line, 10)
      // a swap, or a chain where the target is renamed away too, overwrites nothing
      assert.isTrue(Exit.isSuccess(yield* prepare(workflow(`transformations:
  last: { type: rename, inputs: [orders], config: { fields: { amount: status, status: state } } }`))))
    }))

  it.effect("after a step whose output fields are not known, nothing is checked", () =>
    Effect.gen(function*() {
      const exit = yield* prepare(workflow(`transformations:
  grouped:
    type: aggregate
    inputs: [orders]
    config: { group_by: [status], aggregates: { n: { op: count } } }
  last: { type: filter, inputs: [grouped], config: { condition: "n > 1 && anything == null" } }`))
      assert.isTrue(Exit.isSuccess(exit))
    }))

  it("Expression.fieldsRead finds the root fields, not paths, strings or functions", () => {
    assert.deepStrictEqual(
      Expression.fieldsRead("lower(status) == 'amount' && address.city in ['x'] && `first name` != $['last name'] && tags[0] == n"),
      [
        { name: "status", column: 7 },
        { name: "address", column: 30 },
        { name: "first name", column: 55 },
        { name: "last name", column: 73 },
        { name: "tags", column: 89 },
        { name: "n", column: 100 }
      ]
    )
    assert.isUndefined(Expression.fieldsRead("amount >"))
  })
})
