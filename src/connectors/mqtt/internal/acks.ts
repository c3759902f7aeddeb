/**
 * Holding a subscriber's acknowledgements until a checkpoint, with mqtt.js.
 *
 * mqtt.js acknowledges an incoming QoS 1 message (PUBACK) or receives a QoS 2 one (PUBREC) as
 * soon as it has handled it, and handles packets one at a time: delaying the callback of
 * `customHandleAcks` or `handleMessage` would stop every packet after the message (one message
 * per checkpoint). So the client's `_sendPacket` is wrapped (mqtt.js 5; its tests pin the
 * behaviour, see test/connectors/mqtt): a PUBACK or PUBREC it sends is kept, mqtt.js is told it
 * was sent, and {@link HeldAcks.release} sends it when the checkpoint covering the message
 * completed. A QoS 2 message is taken from `customHandleAcks` (mqtt.js emits it only after
 * PUBREL, which the broker sends after the PUBREC; until then mqtt.js keeps only its packet id
 * here). Held acknowledgements die with the
 * connection: the broker then sends those messages again (flagged `DUP`).
 */
import { randomUUID } from "node:crypto"
import mqtt from "mqtt"

interface AckPacket {
  readonly cmd: string
  readonly messageId?: number
}

const EMPTY = Buffer.alloc(0)

type Packet = Parameters<mqtt.Store["put"]>[0]

/**
 * mqtt.js keeps an incoming QoS 2 message (payload included) from its PUBREC to its PUBREL, to
 * emit it then. The source has taken it when it arrived: only the packet id is kept. (Mosquitto
 * 2.0 sends PUBRELs late, behind further messages: the default store held most of a queue's payloads.)
 */
class PacketIdStore extends mqtt.Store {
  override put(packet: Packet, cb: (error?: Error) => void): this {
    return packet.cmd === "publish" && packet.messageId !== undefined
      ? super.put({ cmd: "publish", qos: 2, messageId: packet.messageId, topic: "", payload: EMPTY, dup: false, retain: false }, cb)
      : super.put(packet, cb)
  }
}

type SendPacket = (packet: AckPacket, cb?: (error?: unknown) => void) => void

/** A message as `customHandleAcks` and the `message` event give it. */
export type OnMessage = (topic: string, payload: Buffer, packet: { readonly messageId?: number | undefined; readonly dup?: boolean }) => void

/** The acknowledgements held back on one client (see the module documentation). */
export class HeldAcks {
  /** Receives QoS 2 messages as they arrive. */
  onQos2: OnMessage = () => undefined
  private readonly held = new Map<number, "puback" | "pubrec">()
  /** Released before mqtt.js got to acknowledge them (from within the message event): sent as it does. */
  private readonly early = new Set<number>()
  private readonly send: SendPacket
  private readonly probe = `dataflare/ack-probe/${randomUUID()}`
  private readonly client: mqtt.MqttClient

  constructor(client: mqtt.MqttClient) {
    this.client = client
    const original = (client["_sendPacket"] as SendPacket).bind(client)
    this.send = original
    client["_sendPacket"] = ((packet: AckPacket, cb?: (error?: unknown) => void) => {
      if ((packet.cmd === "puback" || packet.cmd === "pubrec") && packet.messageId !== undefined && !this.early.delete(packet.messageId)) {
        this.held.set(packet.messageId, packet.cmd)
        cb?.()
        return
      }
      original(packet, cb)
    }) as typeof client["_sendPacket"]
    client.options.customHandleAcks = (topic, message, packet: { readonly qos?: number; readonly messageId?: number; readonly dup?: boolean }, done) => {
      if (packet.qos === 2) this.onQos2(topic, message, packet)
      done(0)
    }
    // set before the first packet (mqtt.js takes its option only when constructed)
    client.incomingStore = new PacketIdStore()
  }

  /**
   * Sends the acknowledgement of the message with packet id `id`; called while mqtt.js is still
   * handling the message (its acknowledgement not yet taken), lets it through when it comes.
   */
  release(id: number): void {
    const cmd = this.held.get(id)
    if (cmd === undefined) {
      this.early.add(id)
      return
    }
    this.held.delete(id)
    this.send({ cmd, messageId: id })
  }

  /** Acknowledgements held now. */
  size(): number {
    return this.held.size
  }

  /**
   * Resolves once the broker answered a request sent after every acknowledgement released so far
   * (an UNSUBSCRIBE of a topic never subscribed): it then has them all.
   */
  roundTrip(): Promise<void> {
    return this.client.unsubscribeAsync(this.probe).then(() => undefined)
  }
}
