/**
 * RabbitMQ and MQTT sources against a hand-written consumer with the same client, in one
 * invocation, alternating: `node bench/queues.ts [messages]` (default 100,000; against the local
 * RabbitMQ and a Mosquitto started for the run, or `MQTT_URL`). Each round publishes the messages first, then times reading them all:
 * DataFlare's source (acknowledging after checkpoints every second) into a counting sink, against
 * amqplib / mqtt.js consuming, `JSON.parse`-ing and acknowledging directly. Prints messages/s and
 * the medians of at least 3 alternating rounds (`BENCH_ROUNDS` for more) and the ratio of each
 * round with their median. `node bench/queues.ts 50000 rabbitmq` runs one of them. Not part of `npm run bench`
 * (bench/run.ts) yet.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import amqp from "amqplib"
import { Effect, Fiber, Schema } from "effect"
import mqtt from "mqtt"
import * as Batch from "../src/Batch.ts"
import * as Connector from "../src/Connector.ts"
import { MqttSource } from "../src/connectors/mqtt/MqttSource.ts"
import { RabbitmqSource } from "../src/connectors/rabbitmq/RabbitmqSource.ts"
import * as Registry from "../src/Registry.ts"
import * as Runtime from "../src/Runtime.ts"
import * as WorkflowGraph from "../src/WorkflowGraph.ts"
import { median } from "./lib/stats.ts"

const N = Number(process.argv[2] ?? 100_000)
const which = process.argv[3] ?? "rabbitmq,mqtt"
const AMQP = process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672"
// a Mosquitto of the benchmark's own (the shared one drops what exceeds 1000 queued messages per
// session: max_queued_messages, see docs/connectors/mqtt.md), on a free port, ended at exit
const privateBroker = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "bench-mosquitto-"))
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  writeFileSync(join(dir, "m.conf"), `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\npersistence false\n`)
  const child = spawn("mosquitto", ["-c", join(dir, "m.conf")], { stdio: "ignore" })
  process.on("exit", () => child.kill())
  return `mqtt://127.0.0.1:${port}`
}
const MQTT = process.env.MQTT_URL ?? privateBroker()
const body = (i: number) => JSON.stringify({ id: i, name: `order ${i}`, amount: (i * 37) % 1000, country: "DE" })

const publishAmqp = async (queue: string) => {
  const c = await amqp.connect(AMQP)
  const ch = await c.createConfirmChannel()
  await ch.assertQueue(queue, { durable: false })
  for (let i = 0; i < N; i++) if (!ch.sendToQueue(queue, Buffer.from(body(i)))) await new Promise((r) => ch.once("drain", r))
  await ch.waitForConfirms()
  await c.close()
}

const handAmqp = async (queue: string) => {
  const c = await amqp.connect(AMQP)
  const ch = await c.createChannel()
  await ch.prefetch(10_000)
  let n = 0
  const start = performance.now()
  await new Promise<void>((resolve) => {
    void ch.consume(queue, (m) => {
      if (m === null) return
      JSON.parse(m.content.toString("utf8"))
      if (++n % 1000 === 0 || n === N) ch.ack(m, true)
      if (n === N) resolve()
    })
  })
  const ms = performance.now() - start
  await c.close()
  return ms
}

/** Runs `source` into a counting sink until `N` records arrived; the time from start to the last. */
const dataflare = (definition: Registry.Definition, type: string, config: unknown, total = N) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    let n = 0
    let done: () => void = () => undefined
    const all = new Promise<void>((resolve) => (done = resolve))
    const count = Connector.sink<unknown, unknown>({
      type: "count",
      description: "counts",
      config: Schema.Unknown,
      capabilities: () => ({ guarantee: "exactly-once", transactional: false, inline: true }),
      check: () => Effect.void,
      open: () =>
        Effect.succeed({
          writeBatch: (batch: Batch.Batch<unknown>) =>
            Effect.sync(() => {
              n += Batch.size(batch)
              if (n >= total) done()
              return { written: Batch.size(batch) }
            }),
          flush: Effect.void
        })
    })
    const start = performance.now()
    const fiber = yield* Runtime.run(
      WorkflowGraph.make({
        name: `bench-${type}-${Math.random().toString(36).slice(2)}`,
        execution: { batch_size: 1000, checkpoint_interval: "1s" },
        nodes: [
          { kind: "source", id: "in", type, config, inputs: [] },
          { kind: "sink", id: "out", type: "count", config: {}, inputs: ["in"] }
        ]
      })
    ).pipe(Effect.provide(Registry.layer([definition, count as Registry.Definition])), Effect.forkScoped)
    yield* Effect.promise(() => all)
    const ms = performance.now() - start
    yield* Fiber.interrupt(fiber)
    return ms
  })))

const session = async (clientId: string, topic: string) => {
  const c = await mqtt.connectAsync(MQTT, { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 600, receiveMaximum: 1000 }, reconnectPeriod: 0 })
  await c.subscribeAsync(topic, { qos: 1 })
  await c.endAsync()
}
const publishMqtt = async (topic: string, count: number) => {
  const c = await mqtt.connectAsync(MQTT, { protocolVersion: 5, reconnectPeriod: 0 })
  await Promise.all(Array.from({ length: count }, (_, i) => c.publishAsync(topic, body(i), { qos: 1 })))
  await c.endAsync()
}
const handMqtt = async (clientId: string, count: number) => {
  let n = 0
  const start = performance.now()
  const c = mqtt.connect(MQTT, { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 600, receiveMaximum: 1000 }, reconnectPeriod: 0 })
  await new Promise<void>((resolve) => {
    c.on("message", (_t, payload) => {
      JSON.parse(payload.toString("utf8"))
      if (++n === count) resolve()
    })
  })
  const ms = performance.now() - start
  await c.endAsync()
  return ms
}

const rate = (n: number, ms: number) => Math.round(n / (ms / 1000))
/** Medians of the rounds, and the ratio of each round (both ran back to back) with their median. */
const report = (name: string, ours: ReadonlyArray<number>, theirs: ReadonlyArray<number>, n: number) => {
  const a = rate(n, median(ours))
  const b = rate(n, median(theirs))
  const ratios = ours.map((ms, r) => theirs[r] / ms)
  console.log(
    `${name}: dataflare ${a} msg/s, hand-written ${b} msg/s (medians of ${ours.length} alternating rounds); ` +
      `ratio per round ${ratios.map((x) => x.toFixed(2)).join(", ")}, median ${median(ratios).toFixed(2)}`
  )
}

// several rounds: the machine is shared, one round says little (BENCH_ROUNDS overrides, at least 3)
const rounds = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 3))
if (which.includes("rabbitmq")) {
const ours: Array<number> = []
const theirs: Array<number> = []
for (let r = 0; r < rounds; r++) {
  const q1 = `bench-df-${r}-${Date.now()}`
  await publishAmqp(q1)
  ours.push(await dataflare(RabbitmqSource as Registry.Definition, "rabbitmq", { url: AMQP, queue: q1, prefetch: Number(process.env.PREFETCH ?? 10_000) }))
  const q2 = `bench-hand-${r}-${Date.now()}`
  await publishAmqp(q2)
  theirs.push(await handAmqp(q2))
  const c = await amqp.connect(AMQP)
  const ch = await c.createChannel()
  await ch.deleteQueue(q1)
  await ch.deleteQueue(q2)
  await c.close()
}
report(`rabbitmq source, ${N} messages`, ours, theirs, N)
}
await new Promise((resolve) => setTimeout(resolve, 500))

if (which.includes("mqtt")) {
const M = Math.min(N, 20_000)
const mOurs: Array<number> = []
const mTheirs: Array<number> = []
for (let r = 0; r < rounds; r++) {
  for (const [list, kind] of [[mOurs, "df"], [mTheirs, "hand"]] as const) {
    const topic = `bench/${kind}/${r}/${Date.now()}`
    const id = `bench-${kind}-${r}-${Date.now()}`
    await session(id, topic)
    const reading = kind === "df"
      ? dataflare(MqttSource as Registry.Definition, "mqtt", { url: MQTT, topic, qos: 1, client_id: id, receive_maximum: Number(process.env.RECEIVE_MAXIMUM ?? 1000) }, M)
      : handMqtt(id, M)
    await new Promise((resolve) => setTimeout(resolve, 300))
    for (let i = 0; i < M; i += 500) await publishMqtt(topic, Math.min(500, M - i))
    list.push(await reading)
    const end = await mqtt.connectAsync(MQTT, { protocolVersion: 5, clientId: id, clean: true, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 })
    await end.endAsync()
  }
}
report(`mqtt source (QoS 1, published while read), ${M} messages`, mOurs, mTheirs, M)
}
process.exit(0)
