import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { numRuns, timeoutFor } from "../../../property-tests/support/effectProperty.ts"
import { CsvParser, END, NEED_MORE, NOT_TEXT, QUOTED, SYNTAX_ERROR, TOO_LARGE } from "../../../src/connectors/csv/internal/parser.ts"

interface Parsed {
  readonly records: Array<Array<string>>
  readonly lines: Array<number>
  readonly error?: string
}

/** Parses `input`, pushing it in chunks of `chunk` characters (0: all at once). */
const parse = (input: string, chunk = 0, delimiter = ",", maxRecordBytes?: number): Parsed => {
  const parser = new CsvParser(delimiter, 0, 1, maxRecordBytes)
  const records: Array<Array<string>> = []
  const lines: Array<number> = []
  const fields: Array<string> = []
  let at = 0
  const size = chunk === 0 ? Math.max(1, input.length) : chunk
  for (;;) {
    const n = parser.next(fields)
    if (n >= 0) {
      records.push(fields.slice(0, n))
      lines.push(parser.recordLine)
    } else if (n === NEED_MORE) {
      if (at >= input.length) parser.end()
      else {
        parser.push(input.slice(at, at + size))
        at += size
      }
    } else if (n === END) return { records, lines }
    else {
      assert.oneOf(n, [SYNTAX_ERROR, TOO_LARGE])
      return { records, lines, error: `${parser.errorLine}:${parser.errorField}: ${n === TOO_LARGE ? "too large" : parser.errorMessage}` }
    }
  }
}

/** Parses with every chunk size from 1 to the input length and checks they all agree. */
const parseEveryChunking = (input: string, delimiter = ",", maxRecordBytes?: number): Parsed => {
  const whole = parse(input, 0, delimiter, maxRecordBytes)
  for (let size = 1; size <= input.length; size++) {
    assert.deepStrictEqual(parse(input, size, delimiter, maxRecordBytes), whole, `chunk size ${size}`)
  }
  return whole
}

describe("CsvParser", () => {
  it("splits plain records (LF and CRLF, with and without a final line break)", () => {
    assert.deepStrictEqual(parseEveryChunking("a,b,c\n1,2,3\n").records, [["a", "b", "c"], ["1", "2", "3"]])
    assert.deepStrictEqual(parseEveryChunking("a,b\r\n1,2\r\n").records, [["a", "b"], ["1", "2"]])
    assert.deepStrictEqual(parseEveryChunking("a,b\n1,2").records, [["a", "b"], ["1", "2"]])
    assert.deepStrictEqual(parseEveryChunking("a,b\r\n1,2\r").records, [["a", "b"], ["1", "2"]])
    assert.deepStrictEqual(parseEveryChunking("").records, [])
  })

  it("keeps empty fields, including leading and trailing ones", () => {
    assert.deepStrictEqual(parseEveryChunking(",a,,\n,,\n").records, [["", "a", "", ""], ["", "", ""]])
  })

  it("reads quoted fields with delimiters, doubled quotes and newlines", () => {
    const input = 'id,text\n1,"a,b"\n2,"say ""hi"""\n3,"two\nlines"\n4,"crlf\r\ninside"\r\n5,""\n6,""""\n'
    const parsed = parseEveryChunking(input)
    assert.deepStrictEqual(parsed.records, [
      ["id", "text"],
      ["1", "a,b"],
      ["2", 'say "hi"'],
      ["3", "two\nlines"],
      ["4", "crlf\r\ninside"],
      ["5", ""],
      ["6", '"']
    ])
    // 1-based physical line where each record starts (embedded newlines counted).
    assert.deepStrictEqual(parsed.lines, [1, 2, 3, 4, 6, 8, 9])
  })

  it("mixes quoted and unquoted fields in one record, quoted last field at end of input", () => {
    assert.deepStrictEqual(parseEveryChunking('x,"y\n",z\n"a","b"').records, [["x", "y\n", "z"], ["a", "b"]])
  })

  it("treats a quote inside an unquoted field as data", () => {
    assert.deepStrictEqual(parseEveryChunking('ab"c,d\n').records, [['ab"c', "d"]])
  })

  it("counts line breaks in any of several quoted fields of one record", () => {
    const input = 'a,b,c\n"x","y\ny",z\n"p\np","q","r\n\nr"\n"s",t,"u"\n1,2,3\n'
    const parsed = parseEveryChunking(input)
    assert.deepStrictEqual(parsed.records, [
      ["a", "b", "c"],
      ["x", "y\ny", "z"],
      ["p\np", "q", "r\n\nr"],
      ["s", "t", "u"],
      ["1", "2", "3"]
    ])
    assert.deepStrictEqual(parsed.lines, [1, 2, 4, 8, 9])
  })

  it("skips empty lines and counts them", () => {
    const parsed = parseEveryChunking("a\n\n\r\nb\n\n")
    assert.deepStrictEqual(parsed.records, [["a"], ["b"]])
    assert.deepStrictEqual(parsed.lines, [1, 4])
  })

  it("skips a UTF-8 byte order mark at the start", () => {
    assert.deepStrictEqual(parseEveryChunking("\uFEFFa,b\n1,2\n").records, [["a", "b"], ["1", "2"]])
  })

  it("keeps unicode text intact", () => {
    assert.deepStrictEqual(parseEveryChunking("名前,emoji\n\"Zoë, 🙂\",ü\n").records, [["名前", "emoji"], ["Zoë, 🙂", "ü"]])
  })

  it("uses a custom delimiter (a comma is then data)", () => {
    assert.deepStrictEqual(parseEveryChunking('a;b,c;"d;e"\n', ";").records, [["a", "b,c", "d;e"]])
    assert.deepStrictEqual(parseEveryChunking("a\tb\n1\t2\n", "\t").records, [["a", "b"], ["1", "2"]])
  })

  it("keeps a lone CR inside an unquoted field as data", () => {
    assert.deepStrictEqual(parseEveryChunking("a\rb,c\n").records, [["a\rb", "c"]])
  })

  it("fails on an unterminated quoted field, naming the line where the record starts and the field", () => {
    const parsed = parseEveryChunking('a,b\n1,"open\nstill open\n')
    assert.deepStrictEqual(parsed.records, [["a", "b"]])
    assert.strictEqual(parsed.error, "2:2: unterminated quoted field")
  })

  it("fails on text after a closing quote, naming its line", () => {
    const parsed = parseEveryChunking('a,b\n1,"x\ny"z\n')
    assert.strictEqual(parsed.error, '3:2: unexpected character "z" after the closing quote')
  })

  it("returns the same records for every chunking of a tricky input", () => {
    const input = '\uFEFFh1,h2,h3\r\n"q,1","q""2","q\r\n3"\r\n\r\nplain,,x\n"",a"b,\n"end"'
    assert.deepStrictEqual(parseEveryChunking(input).records, [
      ["h1", "h2", "h3"],
      ["q,1", 'q"2', "q\r\n3"],
      ["plain", "", "x"],
      ["", 'a"b', ""],
      ["end"]
    ])
  })

  it("reports the byte offset of the next record (multi-byte characters counted in bytes)", () => {
    const parser = new CsvParser(",")
    const fields: Array<string> = []
    parser.push("\uFEFFé,b\nc,d\n")
    parser.end()
    // The byte order mark is not part of the first record.
    assert.strictEqual(parser.offset(), 3)
    assert.strictEqual(parser.next(fields), 2)
    // BOM (3 bytes) + "é,b\n" (5 bytes)
    assert.strictEqual(parser.offset(), 8)
    assert.strictEqual(parser.line, 2)
    assert.strictEqual(parser.next(fields), 2)
    assert.strictEqual(parser.offset(), 12)
    assert.strictEqual(parser.next(fields), END)
  })

  it("refuses a record over maxRecordBytes (in UTF-8 bytes, line break not counted), complete or not, at its line", () => {
    assert.deepStrictEqual(parseEveryChunking("ab,cd\r\nabc,def\n", ",", 5), { records: [["ab", "cd"]], lines: [1], error: "2:0: too large" })
    assert.deepStrictEqual(parseEveryChunking('a\n"é\né"\n', ",", 7).error, "2:0: too large")
    assert.deepStrictEqual(parseEveryChunking('a\n"é\né"\n', ",", 8).records, [["a"], ["é\né"]])
    // an unclosed quote: refused once the limit is held, without the rest of the input
    const parser = new CsvParser(",", 0, 1, 100)
    const fields: Array<string> = []
    parser.push('id\n"open')
    let pushed = 0
    let n = parser.next(fields)
    for (; n === 1 || n === NEED_MORE; n = parser.next(fields)) {
      if (n === NEED_MORE) {
        parser.push("x".repeat(10))
        pushed += 10
      }
    }
    assert.strictEqual(n, TOO_LARGE)
    assert.isAtMost(pushed, 110)
    assert.strictEqual(parser.errorLine, 2)
  })

  it("stop: returns the records before the point where the text stops, then NOT_TEXT at its line and field", () => {
    for (const [input, line, field] of [["a,b\n1,2\n3,x", 3, 2], ['a,b\n1,"p\nq', 3, 2], ["a,b\n1,2\n", 3, 1], ["a,b\n1,2\r", 2, 2]] as const) {
      for (let size = 1; size <= input.length; size++) {
        const parser = new CsvParser(",")
        const records: Array<Array<string>> = []
        const fields: Array<string> = []
        let at = 0
        for (;;) {
          const n = parser.next(fields)
          if (n >= 0) records.push(fields.slice(0, n))
          else if (n === NEED_MORE) {
            if (at >= input.length) parser.stop("not text")
            else parser.push(input.slice(at, (at += size)))
          } else {
            assert.strictEqual(n, NOT_TEXT, `${JSON.stringify(input)} in chunks of ${size}`)
            break
          }
        }
        assert.deepStrictEqual(records, [["a", "b"], ...(input.startsWith("a,b\n1,2\n") ? [["1", "2"]] : [])])
        assert.deepStrictEqual([parser.errorLine, parser.errorField, parser.errorMessage], [line, field, "not text"])
      }
    }
  })

  it("a last record without a line break, with unquoted fields before a quoted one, parses the same when read again at the end", () => {
    // (found by the fuzz suite: the next-delimiter cache of the first attempt was reused when the
    // record was parsed again from its start, and the first field swallowed the second)
    assert.deepStrictEqual(parseEveryChunking('a,b,c\n1,2,"x"').records, [["a", "b", "c"], ["1", "2", "x"]])
    assert.deepStrictEqual(parse('1,2,"x"', 0).records, [["1", "2", "x"]])
    assert.strictEqual(parse(',,"open\r\n', 0).error, "1:3: unterminated quoted field")
  })

  it("a field of 100 chunks parses whole, once its end has come, for any delimiter position", () => {
    const big = "x".repeat(100 * 64)
    for (const input of [`a,${big}\nb,c\n`, `a,"${big}\n""${big}"\nb,c\n`, `"${big}",${big}\n`]) {
      const whole = parse(input)
      assert.deepStrictEqual(parse(input, 64), whole)
      assert.deepStrictEqual(parse(input, 63), whole)
      assert.strictEqual(whole.error, undefined)
    }
  })

  it("a last record without a line break, a quoted line break in it and an empty last field, is one record (whatever the chunking)", () => {
    // the parser met the end of the text inside this record, waited for more, then parsed it again
    // from its start with a delimiter position found past it (it returned the field `1,,"`)
    for (const input of ['1,,"\n",', 'n,a,b,c\n0,,,\r\n1,,"\n",', 'a,b\n"x\ny",']) {
      const whole = parseEveryChunking(input)
      assert.strictEqual(whole.error, undefined)
      assert.deepStrictEqual(whole.records[whole.records.length - 1].at(-1), "")
    }
    assert.deepStrictEqual(parse('1,,"\n",').records, [["1", "", "\n", ""]])
  })

  it("gives a quoted field holding doubled quotes as a place marked as such, and reads it as next does, whatever the chunking", () => {
    const input = 'a,"say ""hi""",c\r\n"""",x,""""""\n"é ""日""",,"a""b"\n"x""\ny",z,w\n1,2,3\n'
    let marked = 0
    const bySpans = (chunk: number): Array<Array<string>> => {
      const parser = new CsvParser(",")
      const fields: Array<string> = []
      const records: Array<Array<string>> = []
      let at = 0
      for (;;) {
        let n = parser.nextSpans()
        if (n === QUOTED) n = parser.next(fields)
        else if (n >= 0) {
          // the marks: exactly the fields whose place holds `""`
          for (let f = 0; f < n; f++) {
            const place = parser.source().slice(parser.spans[2 * f], parser.spans[2 * f + 1])
            assert.strictEqual(parser.hasDoubled && parser.doubled[f] === 1, place.includes('""'), place)
            fields[f] = parser.field(f)
          }
          if (parser.hasDoubled) marked++
        }
        if (n >= 0) records.push(fields.slice(0, n))
        else if (n === NEED_MORE) {
          if (at >= input.length) parser.end()
          else {
            parser.push(input.slice(at, at + chunk))
            at += chunk
          }
        } else {
          assert.strictEqual(n, END)
          return records
        }
      }
    }
    const want = [["a", 'say "hi"', "c"], ['"', "x", '""'], ['é "日"', "", 'a"b'], ['x"\ny', "z", "w"], ["1", "2", "3"]]
    assert.deepStrictEqual(parseEveryChunking(input).records, want)
    for (let chunk = 1; chunk <= input.length; chunk++) assert.deepStrictEqual(bySpans(chunk), want, `chunk size ${chunk}`)
    // the records on one line with `""` came as places (only the one with a quoted line break did not)
    assert.isAbove(marked, 0)
  })

  it("reads back any table written as RFC 4180, whatever the chunking (property)", () => {
    const field = fc.stringMatching(/^[a-z;,"\r\n ü]{0,6}$/)
    const table = fc.array(fc.array(field, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 8 })
    fc.assert(
      fc.property(table, fc.constantFrom(",", ";"), fc.boolean(), fc.integer({ min: 1, max: 9 }), (rows, delimiter, crlf, chunk) => {
        // quote what needs it (and, to mix both kinds on a line, every field starting with "a")
        const encode = (f: string) =>
          /[",;\r\n]/.test(f) || f.startsWith("a") || f.length === 0 ? `"${f.replaceAll('"', '""')}"` : f
        const text = rows.map((r) => r.map(encode).join(delimiter)).join(crlf ? "\r\n" : "\n")
        assert.deepStrictEqual(parse(text, chunk, delimiter).records, rows)
      }),
      { numRuns: numRuns(500) }
    )
  }, timeoutFor(numRuns(500), 10, 60_000))
})
