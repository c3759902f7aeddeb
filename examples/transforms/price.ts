/**
 * The `worker_map` function of examples/worker-map-dead-letters.yaml (loaded inside worker
 * threads): prices an order with its country's VAT rate. An order from a country without a rate
 * throws — with `on_error: dead_letter` on the node, the worker catches it and the order goes to
 * the dead letters while the rest of its batch goes on. An order whose `lines` is not a list is
 * "priced" as a bare number by mistake, which a CSV line cannot hold: the `csv` sink sets it aside.
 */
interface Order {
  readonly id: number
  readonly country: string
  readonly amount: number
  readonly lines?: unknown
}

const VAT: { readonly [country: string]: number } = { DE: 0.19, FR: 0.2, NL: 0.21 }

/** `{ id, country, net, gross }` of an order (record mode). */
export const price = (order: Order): unknown => {
  const rate = VAT[order.country]
  if (rate === undefined) throw new Error(`no VAT rate for country '${order.country}'`)
  const gross = Math.round(order.amount * (1 + rate) * 100) / 100
  // the bug this example shows: an order without a list of lines gets its gross alone
  if (order.lines !== undefined && !Array.isArray(order.lines)) return gross
  return { id: order.id, country: order.country, net: order.amount, gross }
}
