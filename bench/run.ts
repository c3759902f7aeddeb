/**
 * The benchmark suite: `npm run bench` (full) or `npm run bench -- --quick` (small inputs; its
 * scenario 5 compares 100 k with 500 k rows, which includes the heap growing to its working size).
 * Every scenario runs DataFlare and its peers alternately in one invocation and prints median
 * records/s and ratios. `--write` stores the report in bench/RESULTS.md. `--only 1,3` picks
 * scenarios; scenarios 2 and 4 run in a process of their own unless they are the only one.
 * Inputs are generated (deterministic seed) into /dev/shm/dataflare-bench. Scenario 10 (the matrix
 * at default settings) takes `BENCH_ROWS` for its size (`BENCH_ROWS=100000 npm run bench -- --only
 * 10 --quick` runs in about a minute); scenario 11 is the start-up cost of a run; scenario 13 where
 * a second csv range thread starts to pay (the size `auto` splits from).
 */
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { nats, redisStreams } from "./scenarios/brokers.ts"
import { concurrency } from "./scenarios/concurrency.ts"
import { csvFilter } from "./scenarios/csvFilter.ts"
import { csvToPostgres } from "./scenarios/csvToPostgres.ts"
import { fusedChain } from "./scenarios/fusedChain.ts"
import { hugeFields } from "./scenarios/hugeFields.ts"
import { latency } from "./scenarios/latency.ts"
import { memory } from "./scenarios/memory.ts"
import { pgToPostgres } from "./scenarios/pgToPostgres.ts"
import { streams } from "./scenarios/streams.ts"
import { matrix } from "./scenarios/matrix.ts"
import { startupCost } from "./scenarios/startupCost.ts"
import { autoCrossover } from "./scenarios/autoCrossover.ts"
import { staleBundle } from "./lib/cli.ts"
import { machine } from "./lib/stats.ts"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const write = args.includes("--write")
const onlyArg = args.find((a) => a.startsWith("--only"))
const only = onlyArg === undefined ? undefined : new Set((onlyArg.split("=")[1] ?? args[args.indexOf(onlyArg) + 1] ?? "").split(",").map(Number))
const want = (n: number) => only === undefined || only.has(n)

// BENCH_ROWS sets the matrix's row count (scenario 10): e.g. BENCH_ROWS=100000 for a run of a minute or two
const benchRows = process.env.BENCH_ROWS !== undefined ? Number(process.env.BENCH_ROWS) : undefined
const sizes = quick
  ? { matrix: benchRows ?? 100_000, matrixLarge: 0, csv: 100_000, csvLarge: 0, wide: 50_000, fused: 1_000_000, pg: 50_000, latency: 100_000, memSmall: 100_000, memLarge: 500_000, workflows: 1_000, hugeMb: 20, streams: 200_000, brokers: 100_000, rounds: 1 }
  : { matrix: benchRows ?? 1_000_000, matrixLarge: benchRows === undefined ? 10_000_000 : 0, csv: 2_000_000, csvLarge: 10_000_000, wide: 1_000_000, fused: 10_000_000, pg: 1_000_000, latency: 2_000_000, memSmall: 1_000_000, memLarge: 20_000_000, workflows: 10_000, hugeMb: 50, streams: 2_000_000, brokers: 1_000_000, rounds: 3 }

const stale = staleBundle()
if (stale !== undefined) console.error(`warning: bin/dataflare will run the TypeScript sources (${stale}): run npm run build first, or the CLI's start-up weighs on every number`)

const sections: Array<string> = [`# DataFlare benchmarks${quick ? " (quick)" : ""}`, "", `Machine: ${machine()}`, ""]
// --bare: print only the scenarios' markdown (a child run of `alone`, below)
if (!args.includes("--bare")) console.log(`Machine: ${machine()}\n`)
const log = (s: string) => {
  console.log(s + "\n")
  sections.push(s, "")
}

if (want(1)) {
  log((await csvFilter(sizes.csv, "narrow", sizes.rounds)).markdown)
  log((await csvFilter(sizes.wide, "wide", sizes.rounds)).markdown)
  // the same on a 5× larger file: DataFlare's fixed start-up (about 0.2 s, 0.3 s with two range
  // threads; Miller's is about 20 ms) weighs less, and the per-row rates show
  if (sizes.csvLarge > 0) log((await csvFilter(sizes.csvLarge, "narrow", sizes.rounds)).markdown)
}
// Scenarios 2 and 4 measure this process's own runtime: in a run of several scenarios each gets a
// fresh process, so that what earlier scenarios left in this heap (generated inputs, garbage)
// does not weigh on it (scenario 2 measured 0.77x after scenario 1 in one process, 0.82-0.90x
// on its own).
const alone = (n: number): string =>
  execFileSync(process.execPath, ["--no-warnings", fileURLToPath(import.meta.url), "--only", String(n), "--bare", ...(quick ? ["--quick"] : [])], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"]
  }).trim()
const inProcess = only !== undefined && only.size === 1
if (want(2)) log(inProcess ? (await fusedChain(sizes.fused, sizes.rounds + 2)).markdown : alone(2))
if (want(3)) log((await csvToPostgres(sizes.pg, sizes.rounds)).markdown)
if (want(4)) log(inProcess ? (await latency(sizes.latency)).markdown : alone(4))
if (want(5)) log((await memory(sizes.memSmall, sizes.memLarge, sizes.rounds)).markdown)
if (want(6)) log((await concurrency(sizes.workflows)).markdown)
if (want(7)) log((await hugeFields(sizes.hugeMb, sizes.rounds)).markdown)
if (want(8)) log((await pgToPostgres(sizes.pg, sizes.rounds)).markdown)
if (want(9)) log((await streams(sizes.streams, sizes.rounds + 2)).markdown)
if (want(10)) log((await matrix(sizes.matrix, sizes.matrixLarge, sizes.rounds)).markdown)
if (want(11)) log((await startupCost(sizes.rounds * 5)).markdown)
if (want(13)) log((await autoCrossover(sizes.rounds * 3)).markdown)
// BROKER_BENCH_MESSAGES overrides the message count (e.g. 50000 for a quick look),
// BROKER_BENCH_ROUNDS the rounds, BROKER_BENCH_ONLY=redis|nats runs one of the two
if (want(12)) {
  const messages = Number(process.env.BROKER_BENCH_MESSAGES ?? sizes.brokers)
  const rounds = Number(process.env.BROKER_BENCH_ROUNDS ?? sizes.rounds)
  const only = process.env.BROKER_BENCH_ONLY
  if (only !== "nats") log((await redisStreams(messages, rounds)).markdown)
  if (only !== "redis") log((await nats(messages, rounds)).markdown)
}

if (write) writeFileSync("bench/RESULTS.md", sections.join("\n"))
