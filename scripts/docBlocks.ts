/**
 * Type-checks every TypeScript code block of README.md and docs/ (```ts or ```typescript):
 * `node scripts/docBlocks.ts` prints each compile error at its place in the Markdown
 * (`docs/dsl.md:42:7`) and exits 1 when there is one. `test/package/DocBlocks.test.ts` runs the
 * same check in `npm test`.
 *
 * Each block is its own module, written to `tmp/doc-blocks/` inside the repository (so that
 * `import ... from "dataflare"` resolves, as in the examples, through package.json `exports` to the
 * sources) and compiled with the repository's tsconfig, less the unused-name checks (a snippet
 * declares what it shows). A block that needs context it does not show — a value defined in an
 * earlier block, a user's type — gets it from an HTML comment right before the block, invisible
 * on the rendered page:
 *
 * ````md
 * <!-- prelude
 * import { Memory } from "dataflare/dsl"
 * const source = Memory.source({ records: [{ id: 1, status: "active" }] })
 * -->
 * ```ts
 * Pipeline.from("orders", source).filter("active", (r) => r.status === "active")
 * ```
 * ````
 *
 * A `<!-- postlude ... -->` comment right after the closing fence is appended after the code (to
 * close a function the prelude opened, for a block that shows `yield*` lines).
 *
 * A block preceded by `<!-- include examples/x.ts#name -->` shows the lines between
 * `// #region name` and `// #endregion name` of that file, which the repository compiles (and a
 * test runs): it is not compiled again, but must equal the region line for line.
 */
import { execFile } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"

/** One code block: where it is, and the module the check compiles (prelude + code). */
export interface Block {
  /** The Markdown file, relative to the repository root. */
  readonly doc: string
  /** Line (1-based) in the Markdown file of the block's first code line. */
  readonly line: number
  /** The prelude's lines and the Markdown line of the first of them (0 when there is none). */
  readonly prelude: ReadonlyArray<string>
  readonly preludeLine: number
  readonly code: ReadonlyArray<string>
  /** Lines appended after the code (closing what the prelude opened). */
  readonly postlude: ReadonlyArray<string>
  /** A block that shows a region of a real file: `<!-- include path#region -->` before it. */
  readonly include?: { readonly path: string; readonly region: string } | undefined
}

/** A compile error, placed in the Markdown. */
export interface Problem {
  readonly doc: string
  readonly line: number
  readonly column: number
  readonly message: string
}

const markdownFiles = (root: string): ReadonlyArray<string> => {
  const walk = (dir: string): Array<string> =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".md") ? [join(dir, e.name)] : []
    )
  return ["README.md", ...walk("docs").sort()]
}

/** The TypeScript blocks of one Markdown text. */
export const blocksOf = (doc: string, text: string): ReadonlyArray<Block> => {
  const lines = text.split("\n")
  const blocks: Array<Block> = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(ts|typescript)\s*$/.exec(lines[i])
    if (open === null) continue
    const [, indent, fence] = open
    let end = i + 1
    while (end < lines.length && lines[end].trim() !== fence) end++
    const code = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
    const include = i > 0 ? /^<!-- include (\S+)#(\S+) -->$/.exec(lines[i - 1].trim()) : null
    // a prelude comment ending on the line right before the fence
    let prelude: Array<string> = []
    let preludeLine = 0
    if (i > 0 && lines[i - 1].trim() === "-->") {
      let start = i - 2
      while (start >= 0 && lines[start].trim() !== "<!-- prelude") start--
      if (start >= 0) {
        prelude = lines.slice(start + 1, i - 1)
        preludeLine = start + 2
      }
    }
    // a postlude comment starting on the line right after the closing fence
    let postlude: Array<string> = []
    if (lines[end + 1]?.trim() === "<!-- postlude") {
      let close = end + 2
      while (close < lines.length && lines[close].trim() !== "-->") close++
      postlude = lines.slice(end + 2, close)
    }
    blocks.push({
      doc,
      line: i + 2,
      prelude,
      preludeLine,
      code,
      postlude,
      include: include === null ? undefined : { path: include[1], region: include[2] }
    })
    i = end
  }
  return blocks
}

/** Every TypeScript block of README.md and docs/. */
export const extract = (root: string): ReadonlyArray<Block> =>
  markdownFiles(root).flatMap((doc) => blocksOf(doc, readFileSync(join(root, doc), "utf8")))

const fileName = (block: Block) => `${block.doc.replace(/[/.]/g, "_")}_L${block.line}.ts`

/** Writes the blocks as modules into `dir` with a tsconfig; returns file name → block. */
const write = (root: string, dir: string, blocks: ReadonlyArray<Block>): ReadonlyMap<string, Block> => {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const files = new Map<string, Block>()
  for (const block of blocks) {
    if (block.include !== undefined) continue
    const name = fileName(block)
    files.set(name, block)
    writeFileSync(join(dir, name), [...block.prelude, ...block.code, ...block.postlude, "export {}", ""].join("\n"))
  }
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: relative(dir, join(root, "tsconfig.json")),
      compilerOptions: { noUnusedLocals: false, noUnusedParameters: false, noEmit: true, rootDir: relative(dir, root) },
      include: ["*.ts"],
      exclude: []
    })
  )
  return files
}

/** Where a line of a written module is in its Markdown file. */
const place = (block: Block, line: number): number =>
  line <= block.prelude.length ? block.preludeLine + line - 1 : block.line + line - 1 - block.prelude.length

/** The lines between `// #region name` and `// #endregion name` of a file, or why there are none. */
const region = (root: string, path: string, name: string): ReadonlyArray<string> | string => {
  let text: string
  try {
    text = readFileSync(join(root, path), "utf8")
  } catch {
    return `${path} does not exist`
  }
  const lines = text.split("\n")
  const start = lines.findIndex((l) => l.trim() === `// #region ${name}`)
  const end = lines.findIndex((l) => l.trim() === `// #endregion ${name}`)
  return start < 0 || end < start ? `${path} has no region '${name}' (// #region ${name} ... // #endregion ${name})` : lines.slice(start + 1, end)
}

/** An included block that does not show its region as it is in the file. */
const includeProblem = (root: string, block: Block): Problem | undefined => {
  if (block.include === undefined) return undefined
  const { path, region: name } = block.include
  const expected = region(root, path, name)
  if (typeof expected === "string") return { doc: block.doc, line: block.line - 2, column: 1, message: expected }
  const shown = block.code
  for (let i = 0; i < Math.max(shown.length, expected.length); i++) {
    if (shown[i] !== expected[i]) {
      return {
        doc: block.doc,
        line: block.line + Math.min(i, shown.length),
        column: 1,
        message: `the block differs from ${path}#${name} (its line ${i + 1}: ${JSON.stringify(expected[i] ?? "<end of region>")}); copy the region into the block`
      }
    }
  }
  return undefined
}

/**
 * Compiles the blocks and compares included ones with their files; resolves with the problems
 * found (none: every block is right).
 */
export const check = (
  root: string,
  blocks: ReadonlyArray<Block> = extract(root),
  dir: string = join(root, "tmp", `doc-blocks-${process.pid}-${Date.now()}`)
): Promise<ReadonlyArray<Problem>> => {
  const included = blocks.flatMap((b) => includeProblem(root, b) ?? [])
  const files = write(root, dir, blocks)
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), "-p", join(dir, "tsconfig.json"), "--pretty", "false"],
      { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        rmSync(dir, { recursive: true, force: true })
        if (error !== null && stdout.trim() === "") return fail(new Error(`tsc failed: ${stderr}`))
        const problems: Array<Problem> = []
        for (const text of stdout.split("\n")) {
          const m = /^(.+?)\((\d+),(\d+)\): error (.*)$/.exec(text)
          if (m !== null) {
            const block = files.get(m[1])
            if (block === undefined) problems.push({ doc: relative(root, resolve(dir, m[1])), line: Number(m[2]), column: Number(m[3]), message: m[4] })
            else problems.push({ doc: block.doc, line: place(block, Number(m[2])), column: Number(m[3]), message: m[4] })
          } else if (text.startsWith(" ") && problems.length > 0) {
            const last = problems[problems.length - 1]
            problems[problems.length - 1] = { ...last, message: `${last.message}\n${text}` }
          }
        }
        done([...included, ...problems])
      }
    )
  })
}

if (import.meta.main) {
  const root = resolve(import.meta.dirname, "..")
  const problems = await check(root)
  for (const p of problems) console.error(`${p.doc}:${p.line}:${p.column}: ${p.message}`)
  console.log(`${extract(root).length} TypeScript blocks in README.md and docs/: ${problems.length === 0 ? "all compile" : `${problems.length} errors`}`)
  process.exitCode = problems.length === 0 ? 0 : 1
}
