/** Helpers for the processor tests: make a processor from a definition and run it over real batches. */
import { assert } from "@effect/vitest"
import * as Batch from "../../src/Batch.ts"
import * as Processor from "../../src/Processor.ts"

/** Makes a processor (asserting it is not a config issue). */
export const make = <C>(definition: Processor.ProcessorDefinition<C>, config: C): Processor.Processor => {
  const made = definition.make(config, { node: "test" })
  if (made._tag === "ProcessorConfigIssue") return assert.fail(`unexpected config issue: ${made.message}`)
  return made
}

/** The steps of a stateless processor made from `definition`. */
export const steps = <C>(definition: Processor.ProcessorDefinition<C>, config: C): ReadonlyArray<Processor.Step> => {
  const p = make(definition, config)
  if (p._tag !== "Stateless") return assert.fail(`expected a stateless processor, got ${p._tag}`)
  return p.steps
}

/** Runs steps over `records` as batches of `batchSize` through `Processor.runSteps`, concatenating the outputs. */
export const run = (s: ReadonlyArray<Processor.Step>, records: ReadonlyArray<unknown>, batchSize = 3): Array<unknown> => {
  const f = Processor.runSteps(s)
  const all = Batch.make(records)
  const out: Array<unknown> = []
  for (const part of Batch.chunksOf(all, batchSize)) out.push(...f(part))
  return out
}

/** The config issue returned by `make` (asserting there is one). */
export const issue = <C>(definition: Processor.ProcessorDefinition<C>, config: C): Processor.ProcessorConfigIssue => {
  const made = definition.make(config, { node: "test" })
  if (made._tag !== "ProcessorConfigIssue") return assert.fail("expected a config issue")
  return made
}
