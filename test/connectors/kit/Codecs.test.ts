/**
 * The codecs of the connector kit: each encodes and decodes what the file, stdout and broker
 * connectors carry without changing a value, and a payload it cannot read is a DecodeError naming
 * where it came from (message id, line, field) — never a guess.
 */
import { Buffer } from "node:buffer"
import { assert, describe, it } from "@effect/vitest"
import { Codecs } from "../../../src/index.ts"

describe("Codecs", () => {
  it("json: one value per message, exact numbers both ways", () => {
    const codec = Codecs.json({ big_integers: "bigint" })
    const payload = codec.encode({ id: 12345678901234567890n, z: -0, t: "é" })
    assert.strictEqual(payload, '{"id":12345678901234567890,"z":-0,"t":"é"}')
    const back = codec.decode(Buffer.from(String(payload)), { id: "1700000000000-0" })
    assert.deepStrictEqual(back, { id: 12345678901234567890n, z: -0, t: "é" })
    assert.strictEqual(codec.encodeBatch([{ a: 1 }, { a: 2 }], 0, 2), '[{"a":1},{"a":2}]')
  })

  it("json: a payload that is not JSON is a DecodeError naming the message id", () => {
    const codec = Codecs.json()
    const bad = codec.decode("{not json", { id: "orders-42" })
    assert.isTrue(Codecs.isDecodeError(bad))
    if (!Codecs.isDecodeError(bad)) return
    assert.strictEqual(bad.at, "orders-42")
    assert.match(bad.message, /^message orders-42: not json: /)
    assert.strictEqual(bad.head, "{not json")
    assert.match(bad.toRecordError().message, /orders-42/)
    // an integer beyond 2^53 is refused by default, naming its field
    const big = codec.decode('{"a":{"b":12345678901234567890}}', { id: "m1" })
    assert.isTrue(Codecs.isDecodeError(big))
    if (Codecs.isDecodeError(big)) assert.strictEqual(big.field, "a.b")
    // bytes that are not UTF-8
    assert.isTrue(Codecs.isDecodeError(codec.decode(new Uint8Array([0x7b, 0xff, 0x7d]), { id: "m2" })))
  })

  it("ndjson: lines; a bad line is named by its line; a cycle is an EncodeError", () => {
    const codec = Codecs.ndjson()
    assert.strictEqual(codec.encodeBatch([{ a: 1 }, { b: "x" }], 0, 2), '{"a":1}\n{"b":"x"}\n')
    assert.deepStrictEqual(codec.decodeAll('{"a":1}\r\n\n{"a":2}\n'), [{ a: 1 }, { a: 2 }])
    const bad = codec.decodeAll('{"a":1}\n{"a":\n', { location: { file: "in.ndjson", line: 10 } })
    assert.isTrue(Codecs.isDecodeError(bad))
    if (Codecs.isDecodeError(bad)) assert.strictEqual(bad.location?.line, 11)
    const cyclic: { self?: unknown } = {}
    cyclic.self = cyclic
    const failed = codec.encodeBatch([{ ok: 1 }, cyclic], 0, 2)
    assert.isTrue(Codecs.isEncodeError(failed))
    if (Codecs.isEncodeError(failed)) {
      assert.strictEqual(failed.index, 1)
      assert.strictEqual(failed.record, cyclic)
    }
  })

  it("csv: the csv connector's formatting and typed parsing", () => {
    const codec = Codecs.csv({ columns: { id: "integer", name: "string", at: "timestamp" } })
    const text = codec.encodeBatch([{ id: 1, name: "a,b", at: new Date("2026-01-02T03:04:05.000Z") }, { id: 2, name: 'say "hi"' }], 0, 2)
    assert.strictEqual(text, '1,"a,b",2026-01-02T03:04:05.000Z\n2,"say ""hi""",\n')
    assert.strictEqual(codec.header(), "id,name,at\n")
    const back = codec.decodeAll(String(text))
    assert.deepStrictEqual(back, [
      { id: 1, name: "a,b", at: new Date("2026-01-02T03:04:05.000Z") },
      { id: 2, name: 'say "hi"', at: null }
    ])
    const bad = codec.decode("x,y,z", { id: "m7" })
    assert.isTrue(Codecs.isDecodeError(bad))
    if (Codecs.isDecodeError(bad)) {
      assert.strictEqual(bad.field, "id")
      assert.strictEqual(bad.at, "m7")
    }
    // without columns: the first record's keys
    const free = Codecs.csv()
    assert.strictEqual(free.encode({ b: 1, a: 2 }), "1,2\n")
    assert.deepStrictEqual(free.columns(), ["b", "a"])
    // a later record's field outside them would be lost: refused, naming it; a missing one is empty
    assert.strictEqual(free.encode({ a: 3 }), ",3\n")
    const extra = free.encodeBatch([{ b: 1 }, { b: 2, c: 3 }], 0, 2)
    assert.isTrue(Codecs.isEncodeError(extra))
    if (Codecs.isEncodeError(extra)) {
      assert.strictEqual(extra.index, 1)
      assert.include(extra.detail, "field 'c' is not a column")
    }
    // the columns a checkpoint kept (a restored run) are checked the same way; given columns project
    const restored = Codecs.csv()
    restored.useColumns(["b"])
    assert.isTrue(Codecs.isEncodeError(restored.encode({ b: 1, c: 2 })))
    assert.strictEqual(Codecs.csv({ columns: ["b"] }).encode({ b: 1, c: 2 }), "1\n")
  })

  it("bytes and string: payloads as they are; text that is not UTF-8 refused", () => {
    const raw = Codecs.bytes()
    assert.deepStrictEqual(raw.decode(new Uint8Array([1, 2, 255])), new Uint8Array([1, 2, 255]))
    assert.deepStrictEqual(Codecs.toBytes(raw.encodeBatch([new Uint8Array([1]), "A"], 0, 2) as Uint8Array), new Uint8Array([1, 65]))
    assert.isTrue(Codecs.isEncodeError(raw.encode({ not: "bytes" })))
    const text = Codecs.string()
    assert.strictEqual(text.decode(Buffer.from("héllo")), "héllo")
    assert.isTrue(Codecs.isDecodeError(text.decode(new Uint8Array([0xc3]), { id: "7" })))
    assert.isTrue(Codecs.isEncodeError(text.encode(42)))
  })

  it("byName gives the codec a config names", () => {
    for (const name of ["json", "ndjson", "csv", "bytes", "string"] as const) assert.strictEqual(Codecs.byName(name).name, name)
  })
})
