/**
 * Writes `schema/workflow.schema.json`, the JSON Schema of a workflow file with every built-in
 * connector and processor (what `dataflare schema` prints). Run it after changing a config
 * Schema: `npm run schema`. test/cli/Schema.test.ts fails while the committed file is out of date.
 */
import { writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { Effect } from "effect"
import { text } from "../dsl/cli/commands/schema.ts"
import * as Builtins from "../src/Builtins.ts"

const file = resolve(import.meta.dirname, "../schema/workflow.schema.json")
const schema = await Effect.runPromise(text.pipe(Effect.provide(Builtins.layer)))
writeFileSync(file, schema)
console.log(`wrote ${file}`)
