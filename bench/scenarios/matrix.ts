/**
 * Scenario 10: the matrix. DataFlare at its DEFAULT settings (no `execution` section, no
 * `parallelism`: what a user writes first) against the peers a data engineer would reach for,
 * whole processes, start-up included, on many shapes of input:
 *
 * - CSV → filter → NDJSON vs `mlr --icsv --ojsonl filter`: narrow (6 columns) and wide (13) rows;
 *   untyped columns (the filter tests a string) and typed ones (integer, number, boolean,
 *   timestamp declared; the filter tests the number); 10, 33 and 90 % of the rows kept; with and
 *   without quoted fields;
 * - NDJSON → filter → NDJSON vs `mlr --ijsonl --ojsonl filter` and `jq -c 'select(...)'`;
 * - NDJSON → CSV vs `mlr --ijsonl --ocsv cat` and `jq -r '[...] | @csv'`.
 *
 * Each round generates the input from another seed (rounds use seeds 1, 2, 3, ...); within a
 * round the contenders of a shape run back to back, in an order that alternates between rounds.
 * A shape's ratio is the median over rounds of DataFlare's rate ÷ the peer's rate in that round
 * (the two ran within seconds of each other, so a loaded machine's drift mostly cancels). Every
 * ratio is printed, then the worst and the best of each comparison. The outputs' record counts are
 * compared, so a filter that means something else in one tool shows.
 *
 * Sizes: `rows` (1 M in the full run, `BENCH_ROWS` overrides) and `largeRows` (10 M, full run only,
 * for the narrow shapes keeping 33 %). `BENCH_SHAPES` picks shapes by name (see {@link wanted}).
 */
import { execFileSync } from "node:child_process"
import { existsSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { dataflare } from "../lib/cli.ts"
import { scratchDir } from "../lib/generate.ts"
import { columnsOf, csvShape, type Kept, ndjsonShape, type Predicate, predicates, typedColumns, type Width } from "../lib/shapes.ts"
import { median, timeCommand } from "../lib/stats.ts"


/** One way of doing a shape's job, run once on an input. */
interface Way {
  readonly name: string
  /** Runs it; returns seconds. */
  readonly run: (input: string, output: string) => number
}

interface Shape {
  readonly name: string
  readonly rows: number
  readonly dataflare: Way
  readonly peers: ReadonlyArray<Way>
}

interface Measured {
  readonly shape: string
  readonly rows: number
  readonly dataflare: number
  /** Per peer: its median rate and the median ratio. */
  readonly peers: ReadonlyArray<{ readonly name: string; readonly rate: number; readonly ratio: number }>
  readonly counts: string
}

const yamlQuote = (s: string) => JSON.stringify(s)

/** A workflow at the default settings: a source, a filter (unless `condition` is undefined), a sink. */
const workflow = (
  name: string,
  source: string,
  sourceConfig: string,
  condition: string | undefined,
  sink: string,
  output: string
): string =>
  [
    `name: ${name}`,
    "sources:",
    `  input: { type: ${source}, config: ${sourceConfig} }`,
    ...(condition === undefined ? [] : ["transformations:", `  keep: { type: filter, inputs: [input], config: { condition: ${yamlQuote(condition)} } }`]),
    "destinations:",
    `  out: { type: ${sink}, inputs: [${condition === undefined ? "input" : "keep"}], config: { path: ${yamlQuote(output)} } }`
  ].join("\n")

const dataflareWay = (name: string, yaml: (input: string, output: string) => string): Way => ({
  name: "DataFlare",
  run: (input, output) => {
    const file = join(scratchDir(), `matrix-${name}.yaml`)
    writeFileSync(file, yaml(input, output))
    return timeCommand(...dataflare(["run", file, "--quiet"])).seconds
  }
})

/** Whether a peer's program is installed (Debian: `apt-get install miller jq`). */
const installed = (program: string): boolean => {
  try {
    execFileSync(program, ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}
const peers = { Miller: installed("mlr"), jq: installed("jq") }

const shell = (name: "Miller" | "jq", command: (input: string, output: string) => string): Way => ({
  name,
  run: (input, output) => timeCommand("sh", ["-c", command(input, output)]).seconds
})

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`

const csvShapes = (rows: number, width: Width, quotes: boolean, kept: ReadonlyArray<Kept>): Array<Shape> =>
  (["untyped", "typed"] as const).flatMap((typing) =>
    kept.map((k): Shape => {
      const p: Predicate = predicates(k, typing === "typed" ? "amount" : "grade")
      const columns = typing === "typed" ? `, columns: ${JSON.stringify(typedColumns(width))}` : ""
      const name = `csv-${width}-${typing}-${k}-${quotes ? "quoted" : "plain"}`
      return {
        name: `CSV → NDJSON, ${width}, ${typing}, ${k} % kept, ${quotes ? "quoted fields" : "no quotes"}`,
        rows,
        dataflare: dataflareWay(name, (input, output) => workflow(name, "csv", `{ path: ${yamlQuote(input)}${columns} }`, p.dataflare, "ndjson", output)),
        peers: [shell("Miller", (input, output) => `mlr --icsv --ojsonl filter ${q(p.miller)} ${q(input)} > ${q(output)}`)]
      }
    })
  )

const ndjsonShapes = (rows: number, width: Width, kept: ReadonlyArray<Kept>): Array<Shape> => [
  ...kept.map((k): Shape => {
    const p = predicates(k, "amount")
    const name = `ndjson-${width}-${k}`
    return {
      name: `NDJSON → NDJSON, ${width}, ${k} % kept`,
      rows,
      dataflare: dataflareWay(name, (input, output) => workflow(name, "ndjson", `{ path: ${yamlQuote(input)} }`, p.dataflare, "ndjson", output)),
      peers: [
        shell("Miller", (input, output) => `mlr --ijsonl --ojsonl filter ${q(p.miller)} ${q(input)} > ${q(output)}`),
        shell("jq", (input, output) => `jq -c ${q(`select(${p.jq})`)} ${q(input)} > ${q(output)}`)
      ]
    }
  }),
  {
    name: `NDJSON → CSV, ${width}, all rows`,
    rows,
    dataflare: dataflareWay(`ndjson-csv-${width}`, (input, output) => workflow(`ndjson-csv-${width}`, "ndjson", `{ path: ${yamlQuote(input)} }`, undefined, "csv", output)),
    peers: [
      shell("Miller", (input, output) => `mlr --ijsonl --ocsv cat ${q(input)} > ${q(output)}`),
      shell("jq", (input, output) => `(echo ${q(columnsOf(width).join(","))}; jq -r ${q(`[${columnsOf(width).map((c) => `.${c}`).join(",")}] | @csv`)} ${q(input)}) > ${q(output)}`)
    ]
  }
]

/**
 * `BENCH_SHAPES`: run only the shapes whose name contains one of these `|`-separated strings (e.g.
 * `BENCH_SHAPES="narrow, typed|wide, typed, 90"`), for a quick look at a few; all when unset.
 */
const only = process.env.BENCH_SHAPES?.split("|").filter((s) => s.length > 0)
const wanted = (shape: Shape): boolean => only === undefined || only.some((s) => shape.name.includes(s))

const lineCount = (path: string): number =>
  existsSync(path) ? Number(execFileSync("wc", ["-l", path], { encoding: "utf8" }).trim().split(" ")[0]) : -1

/** Runs the shapes that share one input (generated once per round from that round's seed). */
const runGroup = (all: ReadonlyArray<Shape>, rounds: number, generate: (seed: number) => string): Array<Measured> => {
  const shapes = all.filter(wanted).map((shape) => ({ ...shape, peers: shape.peers.filter((p) => peers[p.name as keyof typeof peers]) }))
  if (shapes.length === 0) return []
  const samples = shapes.map(() => ({ dataflare: [] as Array<number>, peers: new Map<string, Array<number>>(), ratios: new Map<string, Array<number>>(), counts: new Set<string>() }))
  for (let r = 0; r < rounds; r++) {
    const input = generate(r + 1)
    try {
      shapes.forEach((shape, s) => {
        const ways = [shape.dataflare, ...shape.peers]
        const order = r % 2 === 0 ? ways : [...ways].reverse()
        const seconds = new Map<string, number>()
        const counts: Array<string> = []
        for (const way of order) {
          const output = join(scratchDir(), `matrix-out-${way.name}.out`)
          seconds.set(way.name, way.run(input, output))
          counts.push(`${way.name} ${lineCount(output)}`)
          rmSync(output, { force: true })
        }
        const at = samples[s]
        const df = shape.rows / seconds.get("DataFlare")!
        at.dataflare.push(df)
        for (const peer of shape.peers) {
          const rate = shape.rows / seconds.get(peer.name)!
          at.peers.set(peer.name, [...(at.peers.get(peer.name) ?? []), rate])
          at.ratios.set(peer.name, [...(at.ratios.get(peer.name) ?? []), df / rate])
        }
        at.counts.add(counts.sort().join(", "))
        process.stderr.write(`  ${shape.name} (seed ${r + 1}): DataFlare ${(df / 1e6).toFixed(2)} M rec/s; ${
          shape.peers.map((p) => `${p.name} ${(shape.rows / seconds.get(p.name)! / 1e6).toFixed(2)} M`).join(", ")
        }\n`)
      })
    } finally {
      rmSync(input, { force: true })
    }
  }
  return shapes.map((shape, s) => ({
    shape: shape.name,
    rows: shape.rows,
    dataflare: median(samples[s].dataflare),
    peers: shape.peers.map((p) => ({ name: p.name, rate: median(samples[s].peers.get(p.name)!), ratio: median(samples[s].ratios.get(p.name)!) })),
    counts: [...samples[s].counts].join(" / ")
  }))
}

const rate = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`)

/** Output lines agree between the contenders in every round (the NDJSON → CSV outputs add a header line each). */
const agree = (m: Measured): boolean =>
  m.counts.split(" / ").every((round) => new Set(round.split(", ").map((c) => c.split(" ").pop())).size === 1)

export const matrix = async (rows: number, largeRows: number, rounds: number): Promise<{ markdown: string }> => {
  const kept: ReadonlyArray<Kept> = [10, 33, 90]
  const results: Array<Measured> = []
  for (const width of ["narrow", "wide"] as const) {
    for (const quotes of [false, true]) {
      results.push(...runGroup(csvShapes(rows, width, quotes, kept), rounds, (seed) => csvShape(rows, width, quotes, seed)))
    }
  }
  if (largeRows > 0) {
    for (const quotes of [false, true]) {
      results.push(...runGroup(csvShapes(largeRows, "narrow", quotes, [33]), rounds, (seed) => csvShape(largeRows, "narrow", quotes, seed)))
    }
  }
  for (const width of ["narrow", "wide"] as const) {
    results.push(...runGroup(ndjsonShapes(rows, width, kept), rounds, (seed) => ndjsonShape(rows, width, seed)))
  }
  const peerNames = ["Miller", "jq"]
  const missing = peerNames.filter((name) => !peers[name as keyof typeof peers])
  const lines = [
    "### 10. The matrix: DataFlare at default settings vs Miller and jq (whole processes, start-up included)",
    "",
    `Medians of ${rounds} rounds, one seed per round; ratio = median over rounds of DataFlare's rate ÷ the peer's in the same round.${
      missing.length > 0 ? ` Not installed, left out: ${missing.join(", ")} (apt-get install miller jq).` : ""
    }`,
    "",
    "| shape | rows | DataFlare rec/s | Miller rec/s | ÷ Miller | jq rec/s | ÷ jq | outputs agree |",
    "|---|---:|---:|---:|---:|---:|---:|---|"
  ]
  for (const m of results) {
    const cell = (name: string) => {
      const p = m.peers.find((x) => x.name === name)
      return p === undefined ? "| — | — " : `| ${rate(p.rate)} | ${p.ratio.toFixed(2)}× `
    }
    lines.push(`| ${m.shape} | ${m.rows.toLocaleString("en")} | ${rate(m.dataflare)} ${peerNames.map(cell).join("")}| ${agree(m) ? "yes" : `NO: ${m.counts}`} |`)
  }
  lines.push("")
  for (const name of peerNames) {
    const all = results.flatMap((m) => m.peers.filter((p) => p.name === name).map((p) => ({ shape: m.shape, rows: m.rows, ratio: p.ratio })))
    if (all.length === 0) continue
    const sorted = [...all].sort((a, b) => a.ratio - b.ratio)
    const worst = sorted[0]
    const best = sorted[sorted.length - 1]
    lines.push(
      `- vs ${name}: worst **${worst.ratio.toFixed(2)}×** (${worst.shape}, ${worst.rows.toLocaleString("en")} rows), best **${best.ratio.toFixed(2)}×** (${best.shape}, ${best.rows.toLocaleString("en")} rows), median ${median(all.map((a) => a.ratio)).toFixed(2)}× over ${all.length} shapes`
    )
  }
  const narrow1M = results.filter((m) => m.rows === rows && m.shape.includes("narrow"))
  lines.push(`- DataFlare on the narrow ${rows.toLocaleString("en")}-row shapes: ${rate(Math.min(...narrow1M.map((m) => m.dataflare)))} to ${rate(Math.max(...narrow1M.map((m) => m.dataflare)))} rec/s`)
  return { markdown: lines.join("\n") }
}
