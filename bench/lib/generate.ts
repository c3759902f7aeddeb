/**
 * Deterministic input generator: CSV files of `rows` rows, narrow or wide, with quoted fields,
 * written to a scratch folder (tmpfs when there is one) and never committed.
 */
import { existsSync, mkdirSync, openSync, writeSync, closeSync, statSync } from "node:fs"
import { join } from "node:path"

export const scratchDir = (): string => {
  const base = existsSync("/dev/shm") ? "/dev/shm/dataflare-bench" : join(process.cwd(), "bench", ".data")
  mkdirSync(base, { recursive: true })
  return base
}

/** A small fast PRNG (mulberry32), so every run generates the same file. */
export const prng = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const STATUSES = ["active", "inactive", "pending", "closed"]
const COUNTRIES = ["DE", "FR", "US", "NZ", "BR", "JP"]
const WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "lambda"]

export type Width = "narrow" | "wide"

export const header = (width: Width): string =>
  width === "narrow"
    ? "id,status,amount,country"
    : "id,status,amount,country,name,email,note,created_at,score,flag,city,zip"

/** Generates (or reuses) a CSV of `rows` rows; returns its path. */
export const csvFile = (rows: number, width: Width, seed = 42): string => {
  const path = join(scratchDir(), `input-${width}-${rows}-${seed}.csv`)
  if (existsSync(path) && statSync(path).size > 0) return path
  const next = prng(seed)
  const fd = openSync(path, "w")
  let chunk = header(width) + "\n"
  for (let i = 0; i < rows; i++) {
    const status = STATUSES[Math.floor(next() * STATUSES.length)]
    const amount = (next() * 1000).toFixed(2)
    const country = COUNTRIES[Math.floor(next() * COUNTRIES.length)]
    if (width === "narrow") {
      chunk += `${i},${status},${amount},${country}\n`
    } else {
      const w1 = WORDS[Math.floor(next() * WORDS.length)]
      const w2 = WORDS[Math.floor(next() * WORDS.length)]
      // quoted fields with a delimiter and a doubled quote inside
      chunk += `${i},${status},${amount},${country},"${w1}, ${w2}",${w1}.${i}@example.com,"said ""${w2}""",2026-01-${String(1 + (i % 28)).padStart(2, "0")}T10:00:00Z,${Math.floor(next() * 100)},${next() < 0.5},${w2}ville,${10000 + (i % 89999)}\n`
    }
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk)
      chunk = ""
    }
  }
  writeSync(fd, chunk)
  closeSync(fd)
  return path
}
