/**
 * The CSV line parser and the record step of the hand-written scenario-1 baselines: split one line
 * into fields (RFC 4180 quotes, no line breaks inside quotes), build the record with numbers for
 * `id` and `amount`, keep `status == 'active' && amount >= 500`, and encode it as one NDJSON line.
 */

/** The fields of one line. */
export const parseLine = (line: string): Array<string> => {
  if (!line.includes('"')) return line.split(",")
  const fields: Array<string> = []
  let i = 0
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = ""
      i++
      while (i < line.length) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"'
            i += 2
          } else {
            i++
            break
          }
        } else value += line[i++]
      }
      fields.push(value)
      i++ // the comma
    } else {
      const end = line.indexOf(",", i)
      const stop = end < 0 ? line.length : end
      fields.push(line.slice(i, stop))
      i = stop + 1
    }
  }
  return fields
}

/**
 * Filters and encodes the complete lines of `text` (the header's fields given): the NDJSON of the
 * records kept and how many there are.
 */
export const filterLines = (lines: ReadonlyArray<string>, header: ReadonlyArray<string>): { readonly ndjson: string; readonly kept: number } => {
  let ndjson = ""
  let kept = 0
  for (const line of lines) {
    if (line.length === 0) continue
    const fields = parseLine(line)
    const record: Record<string, unknown> = {}
    for (let k = 0; k < header.length; k++) record[header[k]] = fields[k]
    record.id = Number(record.id)
    record.amount = Number(record.amount)
    if (record.status === "active" && (record.amount as number) >= 500) {
      ndjson += JSON.stringify(record) + "\n"
      kept++
    }
  }
  return { ndjson, kept }
}
