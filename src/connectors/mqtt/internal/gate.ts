/**
 * Stopping mqtt.js from handling incoming messages while the source's buffer is full, so that the
 * broker is held back by TCP instead of filling memory.
 *
 * A broker may send more than the client's Receive Maximum (Mosquitto 2.0 does when it resends a
 * session's queue), and pausing the socket does not help: a chunk already read holds many
 * packets, and mqtt.js parses and handles all of them. But mqtt.js handles packets one at a time
 * and takes the next only when the handler of the last one calls back. So the gate holds that
 * callback while it is closed: for QoS 1 and 2 `customHandleAcks` is not called (the message is
 * not taken) until the gate opens; for QoS 0 (taken when it arrives) the callback of
 * `handleMessage` waits. Then the chunk's write does not complete, the client's stream stops
 * reading the socket when its buffer is full, and TCP flow control reaches the broker. Memory
 * then holds the source's buffer, one socket chunk being parsed and the stream's buffer (bytes,
 * bounded), never more messages.
 *
 * While the gate is closed, answers from the broker (PINGRESP, SUBACK, UNSUBACK, PUBREL) wait
 * behind the message held. mqtt.js would take the missing PINGRESP for a dead connection after 1.5
 * keepalive intervals; while the gate is closed it sends another PINGREQ instead (so the broker
 * keeps hearing from the client), and the check resumes when the gate opens.
 */
import type mqtt from "mqtt"

type Done = (error?: unknown) => void
type CustomHandleAcks = NonNullable<mqtt.IClientOptions["customHandleAcks"]>

/** The gate over one mqtt.js client's incoming messages (see the module documentation). */
export class MessageGate {
  private closed = false
  private waiting: Array<() => void> = []

  /** Installs the gate on `client`: after `customHandleAcks` is set (it is wrapped). */
  constructor(client: mqtt.MqttClient) {
    const acks: CustomHandleAcks = client.options.customHandleAcks ?? ((_t, _m, _p, done) => done(0))
    client.options.customHandleAcks = (topic, message, packet, done) => this.pass(() => acks(topic, message, packet, done))
    const handle = client.handleMessage.bind(client)
    client.handleMessage = (packet, callback) =>
      handle(packet, (error?: unknown) => packet.cmd === "publish" && (packet.qos ?? 0) === 0 ? this.pass(() => (callback as Done)(error)) : (callback as Done)(error))
    const timeout = client.onKeepaliveTimeout.bind(client)
    client.onKeepaliveTimeout = () => {
      if (!this.closed) return timeout()
      client.sendPing()
      client.reschedulePing(true)
    }
  }

  /** Closed: no further message is taken until {@link MessageGate.open}. */
  isClosed(): boolean {
    return this.closed
  }

  /** Stops taking messages (the one being handled is not affected). */
  close(): void {
    this.closed = true
  }

  /** Takes messages again: what waited goes on (after the caller returned). */
  open(): void {
    if (!this.closed) return
    this.closed = false
    const waiting = this.waiting
    this.waiting = []
    // closed again before they go on: they wait again
    if (waiting.length > 0) queueMicrotask(() => { for (const f of waiting) this.pass(f) })
  }

  private pass(f: () => void): void {
    if (this.closed) this.waiting.push(f)
    else f()
  }
}
