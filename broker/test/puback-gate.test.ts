import { generate, parser as mqttParser, type Packet } from 'mqtt-packet'
import { expect, test } from 'vitest'
import { PubackGate } from '../src/puback-gate.ts'

/** The packets in `bytes`, decoded by mqtt-packet (the parser mqtt.js reads with). */
function decode(bytes: Buffer): Packet[] {
  const packets: Packet[] = []
  const p = mqttParser({ protocolVersion: 4 })
  p.on('packet', (packet: Packet) => packets.push(packet))
  p.on('error', (err: Error) => {
    throw err
  })
  p.parse(bytes)
  return packets
}

const puback = (messageId: number) => generate({ cmd: 'puback', messageId })
const publish = (messageId: number, size: number) =>
  generate({
    cmd: 'publish',
    topic: 'evmon/v1/s/st/telemetry',
    payload: Buffer.alloc(size, 120),
    qos: 1,
    messageId,
    dup: false,
    retain: false,
  })

/** Feeds `bytes` in chunks of `size` through `gate`, collecting what goes out now and later. */
function wire(chunkSize: number) {
  const sent: Buffer[] = []
  const gate = new PubackGate((b) => sent.push(b))
  const feed = (bytes: Buffer) => {
    for (let i = 0; i < bytes.length; i += chunkSize) sent.push(gate.filter(bytes.subarray(i, i + chunkSize)))
  }
  const ids = () => decode(Buffer.concat(sent)).map((p) => `${p.cmd}:${'messageId' in p ? p.messageId : ''}`)
  return { gate, feed, ids }
}

for (const chunkSize of [1, 3, 7, 4096]) {
  test(`PUBACKs wait for their publish and keep their order; other packets pass (chunks of ${chunkSize})`, () => {
    const { gate, feed, ids } = wire(chunkSize)
    feed(Buffer.concat([puback(1), publish(500, 300), puback(2), generate({ cmd: 'pingresp' })]))
    // Deliveries and other packets pass at once, whole; both PUBACKs are held.
    expect(ids()).toEqual(['publish:500', 'pingresp:'])
    expect(gate.holding).toBe(2)
    // The second publish done first: its PUBACK still waits behind the first.
    gate.published(2)
    expect(ids()).toEqual(['publish:500', 'pingresp:'])
    gate.published(1)
    expect(ids()).toEqual(['publish:500', 'pingresp:', 'puback:1', 'puback:2'])
    expect(gate.holding).toBe(0)
  })
}

test('a publish reported before its PUBACK came through releases it on arrival', () => {
  const { gate, feed, ids } = wire(2)
  gate.published(9)
  feed(puback(9))
  expect(ids()).toEqual(['puback:9'])
})

test('a release in the middle of a delivery waits for the end of that packet', () => {
  const { gate, feed, ids } = wire(4096)
  feed(puback(3))
  const delivery = publish(77, 1000)
  // Half a delivery is out when the publish is reported: the PUBACK must not split it.
  feed(delivery.subarray(0, 500))
  gate.published(3)
  feed(delivery.subarray(500))
  expect(ids()).toEqual(['publish:77', 'puback:3'])
})
