/**
 * The redelivery window of the broker sources (src/connectors/kit/redelivery.ts): what a position
 * lists, which redeliveries a restored position drops (counted, only when flagged), and when
 * digests are forgotten (only once the broker confirmed the acknowledgements sent before).
 */
import { describe, expect, it } from "vitest"
import { digest, RedeliveryWindow } from "../../../src/connectors/kit/redelivery.ts"

const d = (s: string) => digest([s])

describe("RedeliveryWindow", () => {
  it("a position lists the digests of the messages up to it that are not confirmed", () => {
    const w = new RedeliveryWindow()
    for (const m of ["a", "b", "c", "d"]) w.deliver(d(m), false)
    expect(w.position(3)).toEqual({ session: w.session, delivered: 3, redeliverable: [d("a"), d("b"), d("c")] })
    const round = w.acknowledged([1, 2])
    // sent, not confirmed: still listed (the broker may not have them when the process dies)
    expect(w.position(3).redeliverable).toEqual([d("a"), d("b"), d("c")])
    w.confirm(round)
    expect(w.position(4).redeliverable).toEqual([d("c"), d("d")])
  })

  it("confirm forgets only acknowledgements sent up to its round, in delivery order", () => {
    const w = new RedeliveryWindow()
    for (const m of ["a", "b", "c"]) w.deliver(d(m), false)
    const first = w.acknowledged([2])
    w.confirm(first)
    // 1 is not acknowledged: nothing after it is forgotten either
    expect(w.position(3).redeliverable).toEqual([d("a"), d("b"), d("c")])
    const second = w.acknowledged([1])
    const third = w.acknowledged([3])
    w.confirm(second)
    expect(w.position(3).redeliverable).toEqual([d("c")])
    w.confirm(third)
    expect(w.position(3).redeliverable).toEqual([])
  })

  it("after a restore, drops flagged redeliveries of covered messages, as many times as covered", () => {
    const before = new RedeliveryWindow()
    for (const m of ["x", "y", "x"]) before.deliver(d(m), false)
    const saved = before.position(3)
    const w = new RedeliveryWindow()
    w.restore(saved)
    // not flagged as redelivered: a new message with the same content, never dropped
    expect(w.deliver(d("x"), false).duplicate).toBe(false)
    expect(w.deliver(d("x"), true).duplicate).toBe(true)
    expect(w.deliver(d("y"), true).duplicate).toBe(true)
    expect(w.deliver(d("x"), true).duplicate).toBe(true)
    // a third redelivered "x": the checkpoint covered two
    expect(w.deliver(d("x"), true).duplicate).toBe(false)
    expect(w.deliver(d("z"), true).duplicate).toBe(false)
  })

  it("carries unmatched restored digests into later positions until their redelivery comes", () => {
    const before = new RedeliveryWindow()
    for (const m of ["p", "q"]) before.deliver(d(m), false)
    const w = new RedeliveryWindow()
    w.restore(before.position(2))
    w.deliver(d("p"), true)
    w.deliver(d("new"), false)
    // the dropped "p" stays until its acknowledgement is confirmed; "q" is still awaited
    expect([...w.position(2).redeliverable].sort()).toEqual([d("p"), d("new"), d("q")].sort())
    w.confirm(w.acknowledged([1, 2]))
    expect(w.position(2).redeliverable).toEqual([d("q")])
    expect(w.deliver(d("q"), true).duplicate).toBe(true)
    expect(w.position(3).redeliverable).toEqual([d("q")])
  })

  it("digests tell messages apart by every part, and parts apart from each other", () => {
    expect(digest(["ab", "c"])).not.toBe(digest(["a", "bc"]))
    expect(digest([new Uint8Array([1, 2, 3])])).toBe(digest([Buffer.from([1, 2, 3])]))
    expect(digest(["a"])).toHaveLength(16)
  })
})
