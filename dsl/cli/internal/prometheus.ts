/**
 * A reader of the Prometheus text exposition format (version 0.0.4), as much as `dataflare top`
 * needs: every sample line as name, labels and value. Comments (`# HELP`, `# TYPE`) and blank
 * lines are skipped; label values are unescaped (`\\`, `\"`, `\n`); a timestamp after the value is
 * ignored. A line that is not a sample is skipped too: `top` shows what it can read.
 */

/** One sample: `name{labels} value`. */
export interface Sample {
  readonly name: string
  readonly labels: { readonly [label: string]: string }
  readonly value: number
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/

/** The value of a sample (`NaN`, `+Inf`, `-Inf` included); `undefined` when not a number. */
const parseValue = (text: string): number | undefined => {
  if (text === "NaN") return Number.NaN
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY
  if (text === "-Inf") return Number.NEGATIVE_INFINITY
  const n = Number(text)
  return text !== "" && !Number.isNaN(n) ? n : undefined
}

/** Reads one sample line, `undefined` when it is not one. */
export const parseLine = (line: string): Sample | undefined => {
  const name = NAME.exec(line)
  if (name === null) return undefined
  let rest = line.slice(name[0].length)
  const labels: Record<string, string> = {}
  if (rest.startsWith("{")) {
    rest = rest.slice(1)
    while (true) {
      const close = /^\s*,?\s*\}/.exec(rest)
      if (close !== null) {
        rest = rest.slice(close[0].length)
        break
      }
      const label = LABEL.exec(rest.replace(/^\s*,/, ""))
      if (label === null) return undefined
      rest = rest.replace(/^\s*,/, "").slice(label[0].length)
      let value = ""
      let i = 0
      for (; i < rest.length && rest[i] !== "\""; i++) {
        if (rest[i] === "\\" && i + 1 < rest.length) {
          i++
          value += rest[i] === "n" ? "\n" : rest[i]
        } else {
          value += rest[i]
        }
      }
      if (i >= rest.length) return undefined
      labels[label[1]] = value
      rest = rest.slice(i + 1)
    }
  }
  const fields = rest.trim().split(/\s+/)
  const value = parseValue(fields[0] ?? "")
  return value === undefined ? undefined : { name: name[0], labels, value }
}

/** Every sample of an exposition, in order. */
export const parse = (text: string): ReadonlyArray<Sample> => {
  const samples: Array<Sample> = []
  for (const line of text.split("\n")) {
    const trimmed = line.trim()
    if (trimmed === "" || trimmed.startsWith("#")) continue
    const sample = parseLine(trimmed)
    if (sample !== undefined) samples.push(sample)
  }
  return samples
}
