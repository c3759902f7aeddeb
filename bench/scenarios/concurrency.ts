/**
 * Scenario 6: 10,000 small workflows started at once in one process (each: 20 records → filter →
 * map → a collecting sink); time to complete them all and peak memory. The workflows run in a
 * fresh process (internal/concurrencyChild.ts) so that the memory of earlier scenarios does not
 * count; its peak RSS comes from GNU time, and "above the start" from the process's own sampling.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const child = fileURLToPath(new URL("./internal/concurrencyChild.ts", import.meta.url))

interface ChildReport {
  readonly completed: number
  readonly written: number
  readonly seconds: number
  readonly before: number
  readonly peak: number
}

export const concurrency = async (workflows: number): Promise<{ markdown: string }> => {
  const run = spawnSync("/usr/bin/time", ["-f", "PEAK_RSS_KB=%M", process.execPath, "--no-warnings", child, String(workflows)], {
    encoding: "utf8"
  })
  if (run.status !== 0) throw new Error(`scenario 6 failed (exit ${run.status}): ${run.stderr}`)
  const report = JSON.parse(run.stdout.trim().split("\n").pop() ?? "{}") as ChildReport
  const peakKb = Number(/PEAK_RSS_KB=(\d+)/.exec(run.stderr)?.[1] ?? 0)
  const peak = Math.max(report.peak, peakKb * 1024)
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0)
  return {
    markdown: [
      `### 6. Concurrency: ${workflows.toLocaleString("en")} small workflows in one process`,
      "",
      `all completed: ${report.completed === workflows ? "yes" : "no"} (${report.written.toLocaleString("en")} records written, expected ${(workflows * 15).toLocaleString("en")}); ` +
      `time ${report.seconds.toFixed(2)} s; peak RSS ${mb(peak)} MB, ${mb(peak - report.before)} MB above the process after loading (${mb(report.before)} MB)`
    ].join("\n")
  }
}
