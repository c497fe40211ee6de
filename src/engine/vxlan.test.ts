/**
 * The vxlan engine end to end without root: engines on hosts joined by an in-memory IPv4 "wire" that
 * takes the raw packets a sender writes and hands their UDP payloads to the socket bound to their
 * destination port on the destination host; TAPs are memory ports whose far end the test holds.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MemoryPort } from '../io/memory.js';
import { PacketBatch, type PacketPort } from '../io/port.js';
import { macKey, NLM_F_APPEND, NLM_F_CREATE, NTF_SELF, NUD_NOARP, NUD_PERMANENT } from '../tunnel/fdb.js';
import { ethernetFrame, ip, ipv4EchoFrame } from '../tunnel/test-helpers.js';
import { defaultVxlanParams, VxlanDevice, type VxlanParams } from '../tunnel/vxlan.js';
import { internetChecksum } from '../wire/checksum.js';
import { VxlanEngine, type VxlanIo, type VxlanRoute } from './vxlan.js';

const engines: VxlanEngine[] = [];
after(() => engines.forEach((e) => e.close()));

interface Host {
  address: number;
  engine: VxlanEngine;
  /** Outer packets this host sent, as written. */
  sent: Buffer[];
  /** Open UDP sockets by port: the wire's end of each. */
  sockets: Map<number, MemoryPort>;
  mtu: number;
  /** The neighbour table `proxy` answers from: IPv4 address -> MAC. */
  neighbours: Map<number, Uint8Array>;
}

class Wire {
  readonly hosts = new Map<number, Host>();

  host(address: string, mtu = 1500): Host {
    const host: Host = { address: ip(address), engine: null as unknown as VxlanEngine, sent: [], sockets: new Map(), mtu, neighbours: new Map() };
    const wire = this;
    let clock = 0;
    const io: VxlanIo = {
      openUdp(port) {
        const [engineEnd, wireEnd] = MemoryPort.pair([`udp:${port}`, `wire:${port}`]);
        host.sockets.set(port, wireEnd);
        const close = engineEnd.close.bind(engineEnd);
        engineEnd.close = () => {
          host.sockets.delete(port);
          close();
        };
        return engineEnd;
      },
      openSender: () => new SenderPort((packet) => wire.carry(host, packet)),
      membership: () => {},
      neighbour: (_ifindex, address) => host.neighbours.get(address) ?? null,
      route: (dst): VxlanRoute => (wire.hosts.has(dst) || (dst >>> 28) === 14 ? { kind: 'ok', source: host.address, mtu: host.mtu, hopLimit: 64, oif: 2 } : { kind: 'no-route' }),
      localPortRange: () => [32768, 60999],
      now: () => clock++,
      warn: () => {},
    };
    host.engine = new VxlanEngine(io, (e) => (e === 90 ? 'EMSGSIZE' : `E${e}`));
    engines.push(host.engine);
    this.hosts.set(host.address, host);
    return host;
  }

  carry(from: Host, packet: Buffer): void {
    from.sent.push(packet);
    const dst = packet.readUInt32BE(16);
    const to = this.hosts.get(dst);
    if (!to || packet[9] !== 17 || (packet.readUInt16BE(6) & 0x3fff) !== 0) return;
    const socket = to.sockets.get(packet.readUInt16BE(22));
    if (!socket) return;
    socket.address = packet.readUInt32BE(12);
    socket.sourcePort = packet.readUInt16BE(20);
    const batch = new PacketBatch(1, 70000, 0);
    batch.data.set(packet.subarray(28), 0);
    batch.push(0, packet.length - 28);
    socket.writeBatch(batch);
  }
}

/** A raw sender: every packet written goes to `deliver`. */
class SenderPort implements PacketPort {
  readonly name = 'raw';
  closed = false;
  constructor(private readonly deliver: (packet: Buffer) => void) {}
  readBatch(): number {
    return 0;
  }
  writeBatch(batch: PacketBatch): number {
    for (let i = 0; i < batch.count; i++) {
      batch.errors[i] = 0;
      this.deliver(Buffer.from(batch.data.subarray(batch.offsets[i], batch.offsets[i] + batch.lengths[i])));
    }
    return batch.count;
  }
  onReadable(): void {}
  onError(): void {}
  close(): void {
    this.closed = true;
  }
}

/** A vxlan device on `host`, attached and up; returns the device and the kernel's end of its TAP. */
function vxlan(host: Host, mac: string, fields: Partial<VxlanParams> = {}): { device: VxlanDevice; tap: MemoryPort } {
  const device = new VxlanDevice({ ...defaultVxlanParams(), name: 'vx0', vni: 100, dstPort: 4789, local: host.address, ...fields });
  device.ifindex = 5;
  device.macKey = macKey(Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16))));
  const remote = device.defaultRemote();
  if (remote) device.fdb.addDefault(remote, 0);
  const [engineEnd, kernelEnd] = MemoryPort.pair(['tap-engine', 'tap-kernel']);
  device.up = true;
  host.engine.attach(device, engineEnd);
  return { device, tap: kernelEnd };
}

function write(tap: MemoryPort, frames: { bytes: Buffer; start: number; length: number }[]): void {
  const batch = new PacketBatch(frames.length, 70000, 0);
  for (const f of frames) {
    const at = batch.slotStart(batch.count);
    f.bytes.copy(batch.data, at, f.start, f.start + f.length);
    batch.push(at, f.length);
  }
  assert.equal(tap.writeBatch(batch), frames.length);
}

/** Frames that reached the kernel's end of a TAP so far. */
function read(tap: MemoryPort): Buffer[] {
  const batch = new PacketBatch(64, 70000, 0);
  const out: Buffer[] = [];
  for (let n = tap.readBatch(batch); n > 0; n = tap.readBatch(batch)) for (let i = 0; i < n; i++) out.push(Buffer.from(batch.packet(i)));
  return out;
}

/** Lets the memory ports' readiness callbacks (setImmediate chains) run to the end. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}
const BROADCAST = 'ff:ff:ff:ff:ff:ff';
const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const MAC_C = '02:00:00:00:00:0c';

function arp(src: string): { bytes: Buffer; start: number; length: number } {
  return ethernetFrame(BROADCAST, src, 0x0806, Buffer.alloc(28, 1));
}

/** Hosts A and B, each with vx0 (VNI 100) pointing at the other, and A's ARP broadcast delivered. */
async function pairAfterBroadcast(): Promise<{ a: Host; b: Host; va: ReturnType<typeof vxlan>; vb: ReturnType<typeof vxlan> }> {
  const wire = new Wire();
  const a = wire.host('192.168.1.1');
  const b = wire.host('192.168.1.2');
  const va = vxlan(a, MAC_A, { remote: b.address });
  const vb = vxlan(b, MAC_B, { remote: a.address });
  write(va.tap, [arp(MAC_A)]);
  await settle();
  return { a, b, va, vb };
}

test('vxlan engine: a broadcast reaches the peer, which learns the sender; the unicast answer comes back', async () => {
  const { a, va, vb } = await pairAfterBroadcast();
  const got = read(vb.tap);
  assert.equal(got.length, 1);
  assert.equal(got[0].subarray(0, 6).toString('hex'), 'ffffffffffff');
  assert.equal(vb.device.fdb.get(macKey(Buffer.from('02000000000a', 'hex')))?.remotes[0].ip, a.address, 'B learned A');
  write(vb.tap, [ipv4EchoFrame(MAC_A, MAC_B, '10.0.0.2', '10.0.0.1')]);
  await settle();
  assert.equal(read(va.tap).length, 1);
  assert.deepEqual([va.device.stats.txPackets, va.device.stats.txBytes, va.device.stats.rxPackets, va.device.stats.rxBytes], [1, 28, 1, 84]);
  assert.deepEqual([vb.device.stats.rxPackets, vb.device.stats.txPackets], [1, 1]);
});

test('vxlan engine: head-end replication floods to every remote of the default entry, then unicast goes to the owner only', async () => {
  const wire = new Wire();
  const a = wire.host('192.168.1.1');
  const b = wire.host('192.168.1.2');
  const c = wire.host('192.168.1.3');
  const va = vxlan(a, MAC_A, { remote: b.address });
  va.device.fdb.update({ mac: 0, ip: c.address, hasIp: true, port: null, vni: null, ifindex: 0, state: NUD_NOARP | NUD_PERMANENT, flags: NTF_SELF, nlFlags: NLM_F_CREATE | NLM_F_APPEND }, 0);
  const vb = vxlan(b, MAC_B, { remote: a.address });
  const vc = vxlan(c, MAC_C, { remote: a.address });
  write(va.tap, [arp(MAC_A), ipv4EchoFrame(MAC_C, MAC_A, '10.0.0.1', '10.0.0.3')]);
  await settle();
  assert.equal(read(vb.tap).length, 2, 'B gets the broadcast and the unknown unicast');
  assert.equal(read(vc.tap).length, 2);
  assert.equal(va.device.stats.txPackets, 4, 'one per copy');
  write(vc.tap, [ipv4EchoFrame(MAC_A, MAC_C, '10.0.0.3', '10.0.0.1')]);
  await settle();
  assert.equal(read(va.tap).length, 1);
  write(va.tap, [ipv4EchoFrame(MAC_C, MAC_A, '10.0.0.1', '10.0.0.3')]);
  await settle();
  assert.equal(read(vc.tap).length, 1, 'learned: only C gets it');
  assert.equal(read(vb.tap).length, 0);
});

test('vxlan engine: VNI mismatch passes nothing and is counted on the receiving engine; a second VNI on the same port gets its own frames', async () => {
  const wire = new Wire();
  const a = wire.host('192.168.1.1');
  const b = wire.host('192.168.1.2');
  const va = vxlan(a, MAC_A, { remote: b.address, vni: 100 });
  const vb = vxlan(b, MAC_B, { remote: a.address, vni: 200 });
  write(va.tap, [arp(MAC_A)]);
  await settle();
  assert.equal(read(vb.tap).length, 0);
  assert.equal(b.engine.drops.get('vxlan-unknown-vni'), 1);
  const vb2 = vxlan(b, '02:00:00:00:00:bb', { remote: a.address, vni: 100, name: 'vx1' });
  write(va.tap, [arp(MAC_A)]);
  await settle();
  assert.equal(read(vb2.tap).length, 1);
  assert.equal(read(vb.tap).length, 0);
  assert.equal(b.sockets.size, 1, 'one socket for the port, shared');
});

test('vxlan engine: the socket closes when the last device on the port goes down; going down flushes learned entries', async () => {
  const { b, vb } = await pairAfterBroadcast();
  assert.equal(vb.device.fdb.size, 2);
  b.engine.setUp(vb.device, false);
  assert.equal(b.sockets.size, 0);
  assert.equal(vb.device.fdb.size, 1, 'the default entry stays');
  b.engine.setUp(vb.device, true);
  assert.equal(b.sockets.size, 1);
});

test('vxlan engine: an outer packet over the path MTU is fragmented when DF is clear, dropped as too big when set; the sender hears of the MTU', async () => {
  const wire = new Wire();
  const a = wire.host('192.168.1.1');
  wire.host('192.168.1.2');
  const va = vxlan(a, MAC_A, { remote: ip('192.168.1.2') });
  write(va.tap, [ipv4EchoFrame(MAC_B, MAC_A, '10.0.0.1', '10.0.0.2', { payload: 1472 })]);
  await settle();
  assert.equal(a.sent.length, 2, '1550 bytes in two fragments');
  const [first, second] = a.sent;
  assert.equal(first.length, 1500);
  assert.equal(second.length, 20 + 1550 - 20 - 1480);
  assert.equal(first.readUInt16BE(4), second.readUInt16BE(4), 'one ID');
  assert.notEqual(first.readUInt16BE(4), 0);
  assert.equal(first.readUInt16BE(6), 0x2000, 'MF, offset 0');
  assert.equal(second.readUInt16BE(6), 1480 / 8, 'last fragment at 1480');
  for (const f of [first, second]) assert.equal(internetChecksum(f, 0, 20), 0);
  assert.equal(va.device.stats.txPackets, 1);
  // skb_tunnel_check_pmtu: the sender hears of the 1450 the path allows, from the frame's destination.
  const [notice] = read(va.tap);
  assert.ok(notice, 'frag-needed went into the TAP');
  assert.equal(notice.subarray(0, 12).toString('hex'), MAC_A.replace(/:/g, '') + MAC_B.replace(/:/g, ''));
  assert.deepEqual([notice[14 + 9], notice[34], notice[35], notice.readUInt16BE(34 + 6)], [1, 3, 4, 1450]);
  assert.equal(notice.readUInt32BE(14 + 12), ip('10.0.0.2'));
  assert.equal(notice.readUInt32BE(14 + 16), ip('10.0.0.1'));
  write(va.tap, [ipv4EchoFrame(MAC_B, MAC_A, '10.0.0.1', '10.0.0.2', { payload: 1422 })]);
  await settle();
  assert.equal(read(va.tap).length, 0, 'a frame that fits tells nothing');

  const vd = vxlan(a, '02:00:00:00:00:0d', { remote: ip('192.168.1.2'), vni: 7, df: 'set', name: 'vx1' });
  write(vd.tap, [ipv4EchoFrame(MAC_B, '02:00:00:00:00:0d', '10.0.0.1', '10.0.0.2', { payload: 1472 })]);
  await settle();
  assert.equal(vd.device.drops.get('too-big'), 1);
  assert.equal(vd.device.stats.txErrors, 1);
});

test('vxlan engine: no FDB entry, and no route to a remote, are dropped and counted', async () => {
  const wire = new Wire();
  const a = wire.host('192.168.1.1');
  const lonely = vxlan(a, MAC_A);
  write(lonely.tap, [arp(MAC_A)]);
  await settle();
  assert.equal(lonely.device.drops.get('no-fdb-entry'), 1);
  assert.equal(lonely.device.stats.txDropped, 1);
  const lost = vxlan(a, '02:00:00:00:00:0e', { remote: ip('172.31.0.1'), vni: 9, name: 'vx1' });
  write(lost.tap, [arp('02:00:00:00:00:0e')]);
  await settle();
  assert.equal(lost.device.drops.get('no-route'), 1);
  assert.equal(lost.device.stats.txCarrierErrors, 1);
});

test('vxlan engine: proxy answers ARP requests from the neighbour table and never sends ARP over the tunnel', async () => {
  const wire = new Wire();
  const a = wire.host('192.168.1.1');
  const b = wire.host('192.168.1.2');
  a.neighbours.set(ip('10.0.0.2'), Uint8Array.from([2, 0, 0, 0, 0, 0x0b]));
  const va = vxlan(a, MAC_A, { remote: b.address, proxy: true });
  const vb = vxlan(b, MAC_B, { remote: a.address });
  const request = (target: string) => {
    const arpBody = Buffer.alloc(28);
    arpBody.writeUInt16BE(1, 0);
    arpBody.writeUInt16BE(0x0800, 2);
    arpBody[4] = 6;
    arpBody[5] = 4;
    arpBody.writeUInt16BE(1, 6);
    Buffer.from('02000000000a', 'hex').copy(arpBody, 8);
    arpBody.writeUInt32BE(ip('10.0.0.1'), 14);
    arpBody.writeUInt32BE(ip(target), 24);
    return ethernetFrame(BROADCAST, MAC_A, 0x0806, arpBody);
  };
  write(va.tap, [request('10.0.0.2'), request('10.0.0.9')]);
  await settle();
  const replies = read(va.tap);
  assert.equal(replies.length, 1, 'the known neighbour is answered; the unknown one is not');
  const r = replies[0];
  assert.equal(r.length, 42);
  assert.equal(r.subarray(0, 12).toString('hex'), '02000000000a' + '02000000000b');
  assert.equal(r.readUInt16BE(20), 2, 'a reply');
  assert.equal(r.readUInt32BE(28), ip('10.0.0.2'));
  assert.equal(r.readUInt32BE(38), ip('10.0.0.1'));
  assert.equal(read(vb.tap).length, 0, 'nothing crossed');
  assert.equal(a.sent.length, 0);
});
