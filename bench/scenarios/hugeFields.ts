/**
 * Scenario 7: huge fields. The same CLI pipeline (CSV → NDJSON) on files of the same size made of
 * 1 KB rows, or of fields of 1, 10 and 50 MB (half of them quoted, with a doubled quote and a line
 * break inside): the time and CPU per MB must not grow with the field (a record spanning many
 * 64 KiB chunks was re-scanned at every chunk: 50 MB took 13.6 s where 50 MB of 1 KB rows took
 * 0.7 s). Runs alternate; the medians count; peak RSS from GNU time.
 */
import { execFileSync } from "node:child_process"
import { closeSync, existsSync, openSync, statSync, writeFileSync, writeSync } from "node:fs"
import { join } from "node:path"
import { scratchDir } from "../lib/generate.ts"
import { median } from "../lib/stats.ts"

const CLI = join(process.cwd(), "bin", "dataflare")
const MB = 1024 * 1024

/** A CSV of `total` bytes of records `id,text` whose text fields are `field` bytes long. */
const hugeFile = (total: number, field: number): string => {
  const path = join(scratchDir(), `huge-${total}-${field}.csv`)
  if (existsSync(path) && statSync(path).size > 0) return path
  const fd = openSync(path, "w")
  writeSync(fd, "id,text\n")
  const piece = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(Math.ceil(Math.min(field, MB) / 36)).slice(0, Math.min(field, MB))
  let written = 0
  for (let id = 1; written < total; id++) {
    const quoted = field >= MB && id % 2 === 0
    writeSync(fd, `${id},${quoted ? '"a ""quoted"" field\n' : ""}`)
    for (let left = field; left > 0; left -= piece.length) writeSync(fd, left >= piece.length ? piece : piece.slice(0, left))
    writeSync(fd, quoted ? '"\n' : "\n")
    written += field
  }
  closeSync(fd)
  return path
}

interface Run {
  readonly seconds: number
  readonly cpuSeconds: number
  readonly mb: number
}

/** One run under GNU time: wall seconds, CPU seconds (user + system) and peak RSS. */
const measure = (input: string, name: string): Run => {
  const dir = scratchDir()
  const workflow = join(dir, `huge-${name}.yaml`)
  writeFileSync(
    workflow,
    [
      `name: bench-huge-${name}`,
      "sources:",
      `  input: { type: csv, config: { path: "${input}" } }`,
      "destinations:",
      `  out: { type: ndjson, inputs: [input], config: { path: "${join(dir, `huge-${name}.ndjson`)}" } }`
    ].join("\n")
  )
  const t = performance.now()
  const out = execFileSync("sh", ["-c", `/usr/bin/time -f 'STATS %U %S %M' '${CLI}' run '${workflow}' --quiet 2>&1 >/dev/null | tail -1`], {
    encoding: "utf8"
  })
  const seconds = (performance.now() - t) / 1000
  const [, user, system, kb] = /STATS ([\d.]+) ([\d.]+) (\d+)/.exec(out) ?? []
  return { seconds, cpuSeconds: Number(user) + Number(system), mb: Number(kb) / 1024 }
}

/**
 * Runs the scenario on `totalMb` MB per file, `rounds` times alternately; the fields are 1, 10 and
 * 50 MB (those not larger than the total).
 */
export const hugeFields = async (totalMb: number, rounds: number): Promise<{ markdown: string; worstRatio: number }> => {
  const total = totalMb * MB
  const kinds = [
    { name: "1 KB rows", field: 1024 },
    ...[1, 10, 50].filter((m) => m <= totalMb).map((m) => ({ name: `${m} MB fields`, field: m * MB }))
  ].map((k) => ({ ...k, input: hugeFile(total, k.field) }))
  const runs = new Map<string, Array<Run>>(kinds.map((k) => [k.name, []]))
  for (let r = 0; r < rounds; r++) {
    for (const k of kinds) runs.get(k.name)!.push(measure(k.input, k.name.replace(/ /g, "-")))
  }
  const mid = kinds.map((k) => {
    const rs = runs.get(k.name)!
    return {
      name: k.name,
      seconds: median(rs.map((x) => x.seconds)),
      cpu: median(rs.map((x) => x.cpuSeconds)),
      mb: median(rs.map((x) => x.mb))
    }
  })
  const base = mid[0]
  const lines = [
    `### 7. Huge fields: CSV → NDJSON (CLI), ${totalMb} MB per file`,
    "",
    "| input | wall s | wall s per MB | CPU s | CPU s per MB | CPU ÷ 1 KB rows | peak RSS MB |",
    "|---|---:|---:|---:|---:|---:|---:|"
  ]
  let worstRatio = 0
  for (const m of mid) {
    const ratio = m.cpu / base.cpu
    if (m !== base) worstRatio = Math.max(worstRatio, ratio)
    lines.push(
      `| ${m.name} | ${m.seconds.toFixed(2)} | ${(m.seconds / totalMb).toFixed(3)} | ${m.cpu.toFixed(2)} | ${(m.cpu / totalMb).toFixed(3)} | ${
        m === base ? "—" : ratio.toFixed(2)
      } | ${m.mb.toFixed(0)} |`
    )
  }
  lines.push(
    "",
    `Medians of ${rounds} alternating run(s). CPU time is the steadier measure on a shared machine (wall time includes waiting for the cores). Target: CPU per MB within 1.5× of 1 KB rows (worst here: ${worstRatio.toFixed(2)}×).`
  )
  return { markdown: lines.join("\n"), worstRatio }
}
