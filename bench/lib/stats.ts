/** Measurement helpers: alternate A/B runs, medians, ratios, CPU time. */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { cpus } from "node:os"

export interface Sample {
  readonly seconds: number
  /** CPU seconds of every process involved (user + system). */
  readonly cpuSeconds: number
  readonly records: number
}

export interface Contender {
  readonly name: string
  readonly run: () => Promise<Sample>
}

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

export const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

export interface Result {
  readonly name: string
  readonly recordsPerSecond: number
  readonly seconds: number
  readonly cpuSeconds: number
}

/** Runs the contenders alternately (A B C A B C ...) `rounds` times; returns medians. */
export const alternate = async (contenders: ReadonlyArray<Contender>, rounds: number): Promise<ReadonlyArray<Result>> => {
  const samples = new Map<string, Array<Sample>>(contenders.map((c) => [c.name, []]))
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) samples.get(c.name)!.push(await c.run())
  }
  return contenders.map((c) => {
    const s = samples.get(c.name)!
    return {
      name: c.name,
      recordsPerSecond: median(s.map((x) => x.records / x.seconds)),
      seconds: median(s.map((x) => x.seconds)),
      cpuSeconds: median(s.map((x) => x.cpuSeconds))
    }
  })
}

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0))

/** A table of results with ratios against the first (DataFlare) row. */
export const table = (title: string, results: ReadonlyArray<Result>): string => {
  const base = results[0]
  const lines = [`### ${title}`, "", "| contender | records/s | wall s | CPU s | DataFlare ÷ this |", "|---|---:|---:|---:|---:|"]
  for (const r of results) {
    lines.push(
      `| ${r.name} | ${fmt(r.recordsPerSecond)} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${
        r === base ? "—" : (base.recordsPerSecond / r.recordsPerSecond).toFixed(2)
      } |`
    )
  }
  return lines.join("\n")
}

/** Times a child process; CPU seconds from the kernel's accounting of the child (via /usr/bin/time when present). */
export const timeCommand = (command: string, args: ReadonlyArray<string>, options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}): { seconds: number; cpuSeconds: number; stdout: string } => {
  childCpuSeconds()
  const start = process.hrtime.bigint()
  const stdout = execFileSync(command, args, { encoding: "utf8", maxBuffer: 1 << 30, cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] })
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return { seconds, cpuSeconds: childCpuSeconds(), stdout }
}

let lastChildCpu = 0
/** CPU seconds used by finished child processes since the previous call. */
export const childCpuSeconds = (): number => {
  const stat = readSelfChildrenCpu()
  const delta = stat - lastChildCpu
  lastChildCpu = stat
  return delta
}

const readSelfChildrenCpu = (): number => {
  try {
    // /proc/self/stat fields 16 and 17: cutime and cstime (children's user and system time, in ticks)
    const stat = readFileSync("/proc/self/stat", "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const ticks = Number(fields[13]) + Number(fields[14])
    return ticks / 100
  } catch {
    return Number.NaN
  }
}

export const machine = (): string =>
  `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`
