/**
 * Compiles the library entries (`dataflare`, `dataflare/dsl`, `dataflare/testing`,
 * `dataflare/vitest`) and the worker thread programs into `<outdir>/src` and `<outdir>/dsl`: one
 * ES module per source file, with `.d.ts`, declaration maps and source maps, by TypeScript's own
 * compiler (`tsconfig.build.json`). Part of `scripts/build.ts`.
 *
 * Two things `tsc` leaves as written, fixed here after it emitted:
 * - The `.d.ts` files keep the sources' `./x.ts` specifiers. TypeScript resolves them to `./x.d.ts`
 *   anyway, but a tool reading the declarations (a bundler's dts plugin, an API extractor) would look
 *   for a `.ts` file that is not in the package; they are rewritten to `./x.js`, as in the `.js`.
 * - A worker thread's entry file is located by `new URL("./runner.ts", import.meta.url)` (see
 *   `scripts/build/cli.ts`): in the compiled library that file is `./runner.js`. Each such
 *   reference is rewritten, and the build fails if the file it names was not emitted.
 */
import { execFile } from "node:child_process"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

/** `from "./x.ts"`, `import("../y.ts")`: a relative module specifier ending in `.ts`. */
const relativeTsSpecifier = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"'\n]+)\.ts\2/g

/** `new URL("./x.ts", import.meta.url)` with a literal relative path (as `scripts/build/cli.ts`). */
const workerReference = /new URL\(\s*(["'])(\.{1,2}\/[^"'\n]+)\.ts\1\s*,\s*import\.meta\.url\s*\)/g

const walk = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]
  )

const tsc = (root: string, outdir: string): Promise<void> =>
  new Promise((done, fail) => {
    execFile(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json"), "--outDir", outdir],
      { cwd: root },
      (error, stdout, stderr) => {
        if (error === null) return done()
        fail(new Error(`tsc -p tsconfig.build.json failed:\n${stdout}${stderr}`))
      }
    )
  })

/**
 * Compiles the library into `outdir` and returns the files it wrote (relative to `outdir`).
 * Fails with the compiler's diagnostics, or naming a worker reference whose file is missing.
 */
export const buildLibrary = async (root: string, outdir: string): Promise<ReadonlyArray<string>> => {
  await tsc(root, outdir)
  const files = [join(outdir, "src"), join(outdir, "dsl")].filter(existsSync).flatMap(walk)
  for (const file of files) {
    if (file.endsWith(".d.ts")) {
      const text = readFileSync(file, "utf8")
      const out = text.replace(relativeTsSpecifier, (_m, head: string, quote: string, path: string) => `${head}${quote}${path}.js${quote}`)
      if (out !== text) writeFileSync(file, out)
    } else if (file.endsWith(".js")) {
      const text = readFileSync(file, "utf8")
      if (!text.includes("import.meta.url")) continue
      const out = text.replace(workerReference, (_m, quote: string, path: string) => {
        const target = resolve(dirname(file), `${path}.js`)
        if (!existsSync(target)) {
          throw new Error(
            `${relative(outdir, file)}: new URL(${quote}${path}.ts${quote}, import.meta.url) names a worker entry that was not compiled: add ${path}.ts to the "files" of tsconfig.build.json`
          )
        }
        return `new URL(${quote}${path}.js${quote}, import.meta.url)`
      })
      if (out !== text) writeFileSync(file, out)
    }
  }
  return files.map((file) => relative(outdir, file))
}
