/**
 * Scenario 12: broker → filter → broker, with the message count of `BROKER_BENCH_MESSAGES`
 * (default 1,000,000; `--quick` 100,000). Redis Streams → filter → Redis Streams and NATS
 * JetStream → filter → NATS JetStream (JSON payloads `{ n, name, amount }`, the filter keeps even
 * `n`: half of them), each through `dataflare run` (checkpoints every second, acknowledging after
 * them) against a hand-written pipeline in this process with the same client (read a batch, parse,
 * filter, write the kept ones pipelined, acknowledge the batch), alternately, on the same input.
 * DataFlare's time runs from spawning the CLI (its start-up included) until the target holds
 * every kept message; the run is then stopped (SIGTERM). At least {@link MIN_ROUNDS} alternating
 * rounds whatever `rounds` says (`--quick` asks for 1): a loaded machine varies from round to
 * round, so the table holds medians, and the ratio against the hand-written pipeline is given per
 * round (both ran back to back in the same invocation) with their median.
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { createClient } from "redis"
import { scratchDir } from "../lib/generate.ts"
import { childCpuSeconds, type Contender, median, type Result, type Sample, table } from "../lib/stats.ts"

const CLI = join(process.cwd(), "bin", "dataflare")
const REDIS = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const NATS = process.env.NATS_SERVERS ?? "127.0.0.1:4222"

const payload = (n: number) => JSON.stringify({ n, name: `customer ${n % 1000}`, amount: (n % 10_000) / 100 })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs the CLI on `yaml` until `count()` reaches `expected`, then stops it gracefully. */
const runCli = async (yaml: string, expected: number, count: () => Promise<number>) => {
  const dir = mkdtempSync(join(scratchDir(), "brokers-"))
  writeFileSync(join(dir, "wf.yaml"), yaml)
  childCpuSeconds()
  const start = process.hrtime.bigint()
  const child = spawn(CLI, ["run", "wf.yaml", "--quiet", "--state-dir", "state"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (d) => (stderr += String(d)))
  const ended = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  while ((await count()) < expected) {
    if (child.exitCode !== null) throw new Error(`dataflare run ended early: ${stderr}`)
    await sleep(20)
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  child.kill("SIGTERM")
  const code = await ended
  rmSync(dir, { recursive: true, force: true })
  if (code !== 0) throw new Error(`dataflare run exited with ${code}: ${stderr}`)
  return { seconds, cpuSeconds: childCpuSeconds() }
}

/** Times an in-process pipeline (CPU of this process). */
const inProcess = async (body: () => Promise<void>) => {
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  await body()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const used = process.cpuUsage(cpu)
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6 }
}

const fmtCount = (n: number) => n.toLocaleString("en")

/** The fewest rounds a broker scenario runs. */
export const MIN_ROUNDS = 3

interface Measured {
  readonly results: ReadonlyArray<Result>
  /** DataFlare's messages/s ÷ the hand-written pipeline's, per round. */
  readonly ratios: ReadonlyArray<number>
}

/** Runs DataFlare and the hand-written pipeline alternately, at least {@link MIN_ROUNDS} rounds: medians and per-round ratios. */
const measure = async (contenders: readonly [Contender, Contender], rounds: number): Promise<Measured> => {
  const samples: [Array<Sample>, Array<Sample>] = [[], []]
  for (let r = 0; r < Math.max(MIN_ROUNDS, rounds); r++) {
    samples[0].push(await contenders[0].run())
    samples[1].push(await contenders[1].run())
  }
  const rate = (x: Sample) => x.records / x.seconds
  return {
    results: contenders.map((c, i) => ({
      name: c.name,
      recordsPerSecond: median(samples[i].map(rate)),
      seconds: median(samples[i].map((x) => x.seconds)),
      cpuSeconds: median(samples[i].map((x) => x.cpuSeconds))
    })),
    ratios: samples[0].map((ours, r) => rate(ours) / rate(samples[1][r]))
  }
}

const ratioLine = (m: Measured) =>
  `Median of ${m.ratios.length} alternating rounds. DataFlare ÷ hand-written, per round: ${m.ratios.map((x) => x.toFixed(2)).join(", ")} (median ${
    median(m.ratios).toFixed(2)
  }).`

export const redisStreams = async (messages: number, rounds: number): Promise<{ markdown: string; results: ReadonlyArray<Result> }> => {
  const tag = `${process.pid}-${Date.now().toString(36)}`
  const source = `dataflare-bench-src-${tag}`
  const target = `dataflare-bench-dst-${tag}`
  const admin = createClient({ url: REDIS })
  await admin.connect()
  for (let i = 0; i < messages; i += 10_000) {
    const sent: Array<Promise<unknown>> = []
    for (let k = i; k < Math.min(messages, i + 10_000); k++) sent.push(admin.sendCommand(["XADD", source, "*", "data", payload(k)]))
    await Promise.all(sent)
  }
  const kept = Math.ceil(messages / 2)
  const targetLength = async () => Number(await admin.sendCommand(["XLEN", target]))
  let round = 0
  const contenders: readonly [Contender, Contender] = [
    {
      name: "DataFlare (CLI: redis-streams → filter → redis-streams)",
      run: async () => {
        await admin.del(target)
        const group = `df-${round++}`
        const yaml = [
          "name: bench-redis-streams",
          "execution: { batch_size: 1000, checkpoint_interval: 1s }",
          "sources:",
          `  src: { type: redis-streams, config: { url: "${REDIS}", stream: ${source}, group: ${group}, consumer: c, codec: json, batch_size: 1000 } }`,
          "transformations:",
          `  even: { type: filter, inputs: [src], config: { condition: "n % 2 == 0" } }`,
          "destinations:",
          `  dst: { type: redis-streams, inputs: [even], config: { url: "${REDIS}", stream: ${target}, codec: json } }`
        ].join("\n")
        const t = await runCli(yaml, kept, targetLength)
        return { ...t, records: messages }
      }
    },
    {
      name: "hand-written node-redis pipeline (XREADGROUP, filter, pipelined XADD, XACK)",
      run: async () => {
        await admin.del(target)
        const group = `hw-${round++}`
        // RESP2 (array replies), as the connector uses
        const reader = createClient({ url: REDIS, RESP: 2 })
        const writer = createClient({ url: REDIS, RESP: 2 })
        await reader.connect()
        await writer.connect()
        const t = await inProcess(async () => {
          await writer.sendCommand(["XGROUP", "CREATE", source, group, "0"])
          let read = 0
          while (read < messages) {
            const reply = (await reader.sendCommand(["XREADGROUP", "GROUP", group, "c", "COUNT", "1000", "BLOCK", "100", "STREAMS", source, ">"])) as unknown as
              | Array<[string, Array<[string, Array<string>]>]>
              | null
            if (reply === null) continue
            const entries = reply[0][1]
            read += entries.length
            const sent: Array<Promise<unknown>> = []
            const ids: Array<string> = []
            for (const [id, fields] of entries) {
              ids.push(id)
              const record = JSON.parse(fields[1]) as { n: number }
              if (record.n % 2 === 0) sent.push(writer.sendCommand(["XADD", target, "*", "data", JSON.stringify(record)]))
            }
            await Promise.all(sent)
            await writer.sendCommand(["XACK", source, group, ...ids])
          }
        })
        await reader.quit()
        await writer.quit()
        if ((await targetLength()) !== kept) throw new Error(`the hand-written pipeline wrote ${await targetLength()} of ${kept}`)
        return { ...t, records: messages }
      }
    }
  ]
  const measured = await measure(contenders, rounds)
  const results = measured.results
  await admin.del([source, target])
  await admin.quit()
  return {
    markdown: `${table(`12a. Redis Streams → filter → Redis Streams, ${fmtCount(messages)} messages (half kept)`, results)}\n\n${ratioLine(measured)} ` +
      "messages/s count the messages read. DataFlare runs in its own process from the CLI (start-up included), checkpointing every second and acknowledging after each; the hand-written pipeline runs in the benchmark's process and acknowledges every batch at once after writing it.",
    results
  }
}

export const nats = async (messages: number, rounds: number): Promise<{ markdown: string; results: ReadonlyArray<Result> }> => {
  const tag = `${process.pid}_${Date.now().toString(36)}`.toUpperCase()
  const source = `DFBENCH_SRC_${tag}`
  const target = `DFBENCH_DST_${tag}`
  const nc = await connect({ servers: NATS })
  const jsm = await jetstreamManager(nc)
  const js = jetstream(nc)
  await jsm.streams.add({ name: source, subjects: [`${source}.in`] })
  await jsm.streams.add({ name: target, subjects: [`${target}.out`] })
  for (let i = 0; i < messages; i += 10_000) {
    const sent: Array<Promise<unknown>> = []
    for (let k = i; k < Math.min(messages, i + 10_000); k++) sent.push(js.publish(`${source}.in`, payload(k)))
    await Promise.all(sent)
  }
  const kept = Math.ceil(messages / 2)
  const targetLength = async () => (await jsm.streams.info(target)).state.messages
  let round = 0
  const contenders: readonly [Contender, Contender] = [
    {
      name: "DataFlare (CLI: nats → filter → nats)",
      run: async () => {
        await jsm.streams.purge(target)
        const r = round++
        // a workflow name per round: the sink's Nats-Msg-Ids continue the lineage a workflow of
        // the same name left in the server (DATAFLARE_SINK_STATE), and within the duplicate window
        // the server would drop a second round's messages as duplicates of the first's
        const yaml = [
          `name: bench-nats-${tag.toLowerCase().replaceAll("_", "-")}-${r}`,
          "execution: { batch_size: 1000, checkpoint_interval: 1s }",
          "sources:",
          `  src: { type: nats, config: { servers: "${NATS}", stream: ${source}, consumer: df-${r}, batch_size: 1000 } }`,
          "transformations:",
          `  even: { type: filter, inputs: [src], config: { condition: "n % 2 == 0" } }`,
          "destinations:",
          `  dst: { type: nats, inputs: [even], config: { servers: "${NATS}", subject: ${target}.out } }`
        ].join("\n")
        const t = await runCli(yaml, kept, targetLength)
        return { ...t, records: messages }
      }
    },
    {
      name: "hand-written nats.js pipeline (pull consume, filter, publish, ack)",
      run: async () => {
        await jsm.streams.purge(target)
        const name = `hw-${round++}`
        await jsm.consumers.add(source, { durable_name: name, ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.All, max_ack_pending: 100_000 })
        const consumer = await js.consumers.get(source, name)
        const t = await inProcess(async () => {
          const iterator = await consumer.consume({ max_messages: 1000 })
          let read = 0
          let sent: Array<Promise<unknown>> = []
          for await (const m of iterator) {
            read++
            const record = JSON.parse(new TextDecoder().decode(m.data)) as { n: number }
            if (record.n % 2 === 0) sent.push(js.publish(`${target}.out`, JSON.stringify(record)))
            if (read % 1000 === 0 || read === messages) {
              await Promise.all(sent)
              sent = []
              await m.ackAck()
            }
            if (read === messages) break
          }
        })
        await jsm.consumers.delete(source, name)
        if ((await targetLength()) !== kept) throw new Error(`the hand-written pipeline published ${await targetLength()} of ${kept}`)
        return { ...t, records: messages }
      }
    }
  ]
  const measured = await measure(contenders, rounds)
  const results = measured.results
  await jsm.streams.delete(source)
  await jsm.streams.delete(target)
  await nc.close()
  return {
    markdown: `${table(`12b. NATS JetStream → filter → NATS JetStream, ${fmtCount(messages)} messages (half kept)`, results)}\n\n${ratioLine(measured)} ` +
      "messages/s count the messages read. DataFlare publishes with Nats-Msg-Id (exactly-once within the duplicate window) and acknowledges after each checkpoint (every second); the hand-written pipeline publishes without ids and acknowledges every 1,000 messages.",
    results
  }
}
