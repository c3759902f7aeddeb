/**
 * The per-record steps of the built-in processors that a source may run on its own threads
 * (`filter`, `map`, `select`, `rename`), and {@link fusedSteps}, which rebuilds them from their
 * (already validated) configs. The processor definitions make their steps here too, so a node
 * behaves the same in its own task and fused into a CSV range thread. Nothing here imports Effect:
 * a range thread loads this module without it (starting a thread that loads Effect took about
 * 100 ms more per run on 2 cores).
 */
import type { TypeErrorFactory } from "../../expr/internal/compile.ts"
import { makeCompiler } from "../../expr/internal/compile.ts"
import type { Step } from "../../Processor.ts"

type Rec = { readonly [key: string]: unknown }
type Out = { [key: string]: unknown }

/**
 * Sets an own field of a new record. A field named `__proto__` (JSON.parse makes such own keys,
 * and a YAML config may name one) is defined as a plain data property: a plain assignment would
 * replace the record's prototype instead.
 */
export const setOwn = (out: Out, key: string, value: unknown): void => {
  if (key === "__proto__") {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    out[key] = value
  }
}

/**
 * `map` with `fields`: one loop that copies the record once and sets every computed field. An
 * error of field `names[i]` is passed through `withField(error, name)` (which names the field
 * in it, or returns `undefined` to rethrow it as it is).
 */
export const fieldsStep = (
  names: ReadonlyArray<string>,
  evs: ReadonlyArray<(record: unknown) => unknown>,
  withField: (error: unknown, field: string) => unknown
): ((record: unknown) => unknown) => {
  const n = names.length
  const set = names.includes("__proto__") ? setOwn : (out: Out, key: string, value: unknown) => {
    out[key] = value
  }
  return (record) => {
    const out: Out = { ...(record as object) }
    let i = 0
    try {
      for (; i < n; i++) set(out, names[i], evs[i](record))
    } catch (e) {
      throw withField(e, names[i]) ?? e
    }
    return out
  }
}

/** `select`: a new record with only `fields`, in that order. */
export const selectStep = (fields: ReadonlyArray<string>): ((record: unknown) => unknown) => {
  const n = fields.length
  return (record) => {
    const r = record as Rec
    const out: Out = {}
    for (let i = 0; i < n; i++) {
      const k = fields[i]
      if (Object.hasOwn(r, k)) setOwn(out, k, r[k])
    }
    return out
  }
}

/**
 * Why `rename` refuses a record: renaming `from` to `to` would overwrite the field `to` it (or,
 * with `whose` `records'`, the records) already has.
 */
export const renameClash = (node: string, from: string, to: string, whose = "record's"): string =>
  `rename '${node}': renaming field '${from}' to '${to}' would overwrite the ${whose} field '${to}' (its value would be lost); ` +
  `rename or drop '${to}' first (select), or rename '${from}' to another name`

/**
 * `rename`: old name → new name. A record that has both an old name and its new name (not itself
 * renamed away) is refused: `clash(detail, record, field)` makes the error thrown, so that no value is
 * overwritten silently (a new-name field holding `undefined` has no value to lose, and is replaced).
 */
export const renameStep = (
  fields: { readonly [old: string]: string },
  node: string,
  clash: (detail: string, record: unknown, field: string) => unknown
): ((record: unknown) => unknown) => {
  const renames = new globalThis.Map<string, string>(Object.entries(fields))
  // new name → old name, to find a field that a rename would overwrite
  const targets = new globalThis.Map<string, string>()
  for (const [o, n] of renames) targets.set(n, o)
  return (record) => {
    const r = record as Rec
    const out: Out = {}
    for (const k in r) {
      if (!Object.hasOwn(r, k)) continue
      const to = renames.get(k)
      if (to !== undefined) {
        setOwn(out, to, r[k])
        continue
      }
      const from = targets.get(k)
      if (from !== undefined && Object.hasOwn(r, from)) {
        if (r[k] === undefined) continue
        throw clash(renameClash(node, from, k), record, k)
      }
      setOwn(out, k, r[k])
    }
    return out
  }
}

/** How a thread without Effect reports a record's error: the fields of a `RecordError`. */
export interface FusedErrors {
  /** The error an expression's run-time type error throws. */
  readonly typeError: TypeErrorFactory
  /** The same error naming the `map` field it came from (`undefined`: not such an error). */
  readonly withField: (error: unknown, field: string) => unknown
}

/**
 * The steps of a fused node, rebuilt from its config (validated when the workflow was prepared;
 * a config that does not compile here throws).
 */
export const fusedSteps = (type: string, config: unknown, errors: FusedErrors, node = type): ReadonlyArray<Step> => {
  const compiler = makeCompiler(errors.typeError)
  const c = config as { readonly condition?: string; readonly fields?: unknown }
  const fail = (message: string) => new Error(`cannot rebuild the fused '${type}' node: ${message}`)
  switch (type) {
    case "filter": {
      const compiled = compiler.compilePredicate(String(c.condition))
      if (!compiled.ok) throw fail(compiled.message)
      return [{ _tag: "filter", f: compiled.test }]
    }
    case "map": {
      const fields = c.fields as { readonly [name: string]: string }
      const names = Object.keys(fields)
      const evs = names.map((name) => {
        const compiled = compiler.compile(fields[name])
        if (!compiled.ok) throw fail(compiled.message)
        return compiled.evaluate
      })
      return [{ _tag: "map", f: fieldsStep(names, evs, errors.withField) }]
    }
    case "select":
      return [{ _tag: "map", f: selectStep(c.fields as ReadonlyArray<string>) }]
    case "rename":
      return [{
        _tag: "map",
        f: renameStep(c.fields as { readonly [old: string]: string }, node, (detail, record, field) => errors.withField(errors.typeError(detail, record, 0), field))
      }]
    default:
      throw fail("not a processor a source can run")
  }
}
