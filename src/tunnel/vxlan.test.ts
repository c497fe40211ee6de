import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internetChecksum, ipv4PseudoHeaderSum } from '../wire/checksum.js';
import { countDrop } from './drop.js';
import { macKey, NLM_F_CREATE, NLM_F_EXCL, NTF_SELF, NUD_NOARP, NUD_PERMANENT, type FdbRemote } from './fdb.js';
import { ethernetFrame, ip, ipv4EchoFrame, ipv6Packet } from './test-helpers.js';
import {
  defaultVxlanParams,
  encapsulateVxlan,
  flowHash,
  newVxlanDecapResult,
  newVxlanEncapResult,
  receiveVxlan,
  VxlanDevice,
  vxlanDefaultMtu,
  vxlanDestination,
  vxlanSourcePort,
  VXLAN_PMTU_NOTICE_MAX,
  writeVxlanPmtuNotice,
  type VxlanParams,
  type VxlanPath,
} from './vxlan.js';

const A = '192.168.1.10';
const B = '192.168.2.20';
const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const PATH: VxlanPath = { source: ip(A), mtu: 1500, hopLimit: 64 };
const RANGE: [number, number] = [32768, 60999];

function device(fields: Partial<VxlanParams> = {}, mac = MAC_A): VxlanDevice {
  const d = new VxlanDevice({ ...defaultVxlanParams(), name: 'vx0', vni: 100, remote: ip(B), local: ip(A), dstPort: 4789, ...fields });
  d.up = true;
  d.macKey = macKey(Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16))));
  const remote = d.defaultRemote();
  if (remote) d.fdb.addDefault(remote, 0);
  return d;
}

function remoteOf(d: VxlanDevice): FdbRemote {
  return d.defaultRemote()!;
}

/** Encapsulates a frame on `d` to its default remote and returns the outer IPv4 packet. */
function send(d: VxlanDevice, frame = ipv4EchoFrame(MAC_B, MAC_A, '10.0.0.1', '10.0.0.2'), path = PATH): Buffer {
  const out = newVxlanEncapResult();
  const port = vxlanSourcePort(flowHash(frame.bytes, frame.start, frame.length, 1234), d.params.srcPortMin, d.params.srcPortMax, RANGE);
  encapsulateVxlan(d, frame.bytes, frame.start, frame.length, remoteOf(d), path, port, out);
  return Buffer.from(frame.bytes.subarray(out.start, out.start + out.length));
}

test('vxlan encap: headers as the kernel writes them (spec 4.14): VNI 100, port 4789, TTL 64, DF clear, UDP checksum', () => {
  const outer = send(device());
  assert.equal(outer.length, 20 + 8 + 8 + 98, 'a default ping is a 134-byte outer packet');
  assert.equal(outer[0], 0x45);
  assert.equal(outer.readUInt16BE(2), outer.length);
  assert.equal(outer.readUInt16BE(6), 0, 'DF clear, ID left to the kernel');
  assert.equal(outer[8], 64);
  assert.equal(outer[9], 17);
  assert.equal(outer.readUInt32BE(12), ip(A));
  assert.equal(outer.readUInt32BE(16), ip(B));
  assert.equal(internetChecksum(outer, 0, 20), 0);
  const sport = outer.readUInt16BE(20);
  assert.ok(sport >= 32768 && sport < 60999, `source port ${sport}`);
  assert.equal(outer.readUInt16BE(22), 4789);
  assert.equal(outer.readUInt16BE(24), outer.length - 20);
  assert.notEqual(outer.readUInt16BE(26), 0, 'udpcsum is on by default');
  assert.equal(internetChecksum(outer, 20, outer.length - 20, ipv4PseudoHeaderSum(ip(A), ip(B), 17, outer.length - 20)), 0);
  assert.deepEqual([...outer.subarray(28, 36)], [0x08, 0, 0, 0, 0, 0, 0x64, 0]);
  assert.equal(outer.subarray(36, 42).toString('hex'), '02000000000b', 'the inner frame follows unchanged');
});

interface OuterCase {
  name: string;
  fields: Partial<VxlanParams>;
  inner?: Parameters<typeof ipv4EchoFrame>[4];
  remote?: string;
  ttl: number;
  tos: number;
  df: boolean;
  checksum?: boolean;
}

const outerCases: OuterCase[] = [
  { name: 'ttl auto to a unicast remote: the route hop limit', fields: {}, ttl: 64, tos: 0, df: false },
  { name: 'ttl auto to a group: 1', fields: { remote: ip('239.1.1.1') }, remote: '239.1.1.1', ttl: 1, tos: 0, df: false },
  { name: 'fixed ttl', fields: { ttl: 10 }, ttl: 10, tos: 0, df: false },
  { name: 'ttl inherit', fields: { ttlInherit: true }, inner: { ttl: 7 }, ttl: 7, tos: 0, df: false },
  { name: 'tos fixed keeps the inner ECN', fields: { tos: 0x10 }, inner: { tos: 0x02 }, ttl: 64, tos: 0x12, df: false },
  { name: 'tos inherit', fields: { tos: 1 }, inner: { tos: 0xb8 }, ttl: 64, tos: 0xb8, df: false },
  { name: 'inner CE goes out as ECT(0)', fields: {}, inner: { tos: 0x03 }, ttl: 64, tos: 0x02, df: false },
  { name: 'df set', fields: { df: 'set' }, inner: { df: false }, ttl: 64, tos: 0, df: true },
  { name: 'df inherit, inner DF', fields: { df: 'inherit' }, inner: { df: true }, ttl: 64, tos: 0, df: true },
  { name: 'df inherit, inner without DF', fields: { df: 'inherit' }, inner: { df: false }, ttl: 64, tos: 0, df: false },
  { name: 'df unset ignores the inner DF', fields: {}, inner: { df: true }, ttl: 64, tos: 0, df: false },
  { name: 'noudpcsum sends checksum 0', fields: { udpCsum: false }, ttl: 64, tos: 0, df: false, checksum: false },
];

for (const c of outerCases) {
  test(`vxlan encap: ${c.name}`, () => {
    const outer = send(device(c.fields), ipv4EchoFrame(MAC_B, MAC_A, '10.0.0.1', '10.0.0.2', c.inner ?? {}));
    assert.equal(outer[8], c.ttl, 'ttl');
    assert.equal(outer[1], c.tos, 'tos');
    assert.equal((outer[6] & 0x40) !== 0, c.df, 'df');
    assert.equal(outer.readUInt32BE(16), ip(c.remote ?? B));
    assert.equal(outer.readUInt16BE(26) !== 0, c.checksum ?? true, 'checksum');
  });
}

test('vxlan source port: stable for a flow, both directions alike, spread over the range, within srcport MIN MAX', () => {
  const hash = (from: string, to: string, sport: number, dport: number) => {
    const udp = Buffer.alloc(28);
    udp[0] = 0x45;
    udp[9] = 17;
    udp.writeUInt32BE(ip(from), 12);
    udp.writeUInt32BE(ip(to), 16);
    udp.writeUInt16BE(sport, 20);
    udp.writeUInt16BE(dport, 22);
    const f = ethernetFrame(MAC_B, MAC_A, 0x0800, udp);
    return flowHash(f.bytes, f.start, f.length, 99);
  };
  assert.equal(hash('10.0.0.1', '10.0.0.2', 1000, 53), hash('10.0.0.1', '10.0.0.2', 1000, 53));
  assert.equal(hash('10.0.0.1', '10.0.0.2', 1000, 53), hash('10.0.0.2', '10.0.0.1', 53, 1000), 'symmetric');
  const ports = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const port = vxlanSourcePort(hash('10.0.0.1', '10.0.0.2', 1024 + i, 80), 0, 0, RANGE);
    assert.ok(port >= 32768 && port < 60999);
    ports.add(port);
  }
  assert.ok(ports.size > 1900, `2000 flows use ${ports.size} ports`);
  for (let i = 0; i < 200; i++) {
    const port = vxlanSourcePort(hash('10.0.0.1', '10.0.0.2', i, 80), 1000, 2000, RANGE);
    assert.ok(port >= 1000 && port < 2000, `${port}`);
  }
  assert.equal(vxlanSourcePort(0, 5, 5, RANGE), 32768, 'min >= max means the local port range');
  assert.notEqual(flowHash(Buffer.alloc(20), 0, 20, 1), flowHash(Buffer.alloc(20), 0, 20, 2), 'seeded');
});

test('vxlan transmit: the FDB picks the remotes; no entry and no default drops (tx_dropped)', () => {
  const d = device({ remote: 0 });
  const f = ipv4EchoFrame(MAC_B, MAC_A, '10.0.0.1', '10.0.0.2');
  assert.equal(vxlanDestination(d, f.bytes, f.start, f.length, 0), 'no-fdb-entry');
  assert.equal(vxlanDestination(d, f.bytes, f.start, 13, 0), 'tx-malformed');
  d.fdb.update({ mac: 0, ip: ip('10.9.9.1'), hasIp: true, port: null, vni: null, ifindex: 0, state: NUD_NOARP | NUD_PERMANENT, flags: NTF_SELF, nlFlags: NLM_F_CREATE | NLM_F_EXCL }, 0);
  const entry = vxlanDestination(d, f.bytes, f.start, f.length, 0);
  assert.ok(typeof entry !== 'string');
  assert.deepEqual(entry.remotes.map((r) => r.ip), [ip('10.9.9.1')]);
});

test('vxlan MTU: dev MTU less 50, else 1500 (spec 3.2)', () => {
  assert.equal(vxlanDefaultMtu(1500), 1450);
  assert.equal(vxlanDefaultMtu(1400), 1350);
  assert.equal(vxlanDefaultMtu(null), 1500);
  assert.equal(vxlanDefaultMtu(100), 68);
});

/** A received UDP payload (VXLAN header + frame) as B would get it from A. */
function payload(d: VxlanDevice, frame = ipv4EchoFrame(MAC_A, MAC_B, '10.0.0.2', '10.0.0.1')): Buffer {
  return send(d, frame).subarray(28);
}

interface ReceiveCase {
  name: string;
  mutate?: (p: Buffer) => Buffer;
  receiver?: Partial<VxlanParams>;
  outerTos?: number;
  setup?: (d: VxlanDevice) => void;
  reason: string | null;
  charged?: boolean;
  counters?: Partial<Record<'rxErrors' | 'rxFrameErrors' | 'rxLengthErrors' | 'rxDropped', number>>;
}

const receiveCases: ReceiveCase[] = [
  { name: 'a good frame is delivered', reason: null },
  { name: 'shorter than the VXLAN header', mutate: (p) => p.subarray(0, 7), reason: 'vxlan-truncated', charged: false },
  { name: 'I flag clear', mutate: (p) => ((p[0] = 0x00), p), reason: 'vxlan-bad-flags', charged: false },
  { name: 'unknown VNI: silent, charged to nobody', mutate: (p) => ((p[6] = 101), p), reason: 'vxlan-unknown-vni', charged: false },
  { name: 'reserved flag bit', mutate: (p) => ((p[0] = 0x88), p), reason: 'vxlan-reserved-bits', counters: { rxFrameErrors: 1, rxErrors: 1 } },
  { name: 'reserved byte after the VNI', mutate: (p) => ((p[7] = 1), p), reason: 'vxlan-reserved-bits', counters: { rxFrameErrors: 1, rxErrors: 1 } },
  { name: 'inner frame shorter than Ethernet', mutate: (p) => p.subarray(0, 8 + 13), reason: 'inner-truncated', counters: { rxErrors: 0 } },
  { name: 'inner IPv4 without its header', mutate: (p) => p.subarray(0, 8 + 14 + 19), reason: 'inner-malformed', counters: { rxLengthErrors: 1, rxErrors: 1 } },
  { name: 'from our own MAC (a loop)', receiver: {}, setup: (d) => (d.macKey = macKey(Uint8Array.from([2, 0, 0, 0, 0, 0x0b]))), reason: 'own-mac' },
  { name: 'outer CE on a Not-ECT inner', outerTos: 0x03, reason: 'ecn-ce-not-ect', counters: { rxFrameErrors: 1, rxErrors: 1 } },
  { name: 'outer ECT on a Not-ECT inner passes', outerTos: 0x02, reason: null },
  { name: 'device down', setup: (d) => (d.up = false), reason: 'rx-device-error', counters: { rxDropped: 1 } },
  {
    name: 'a static entry for the source elsewhere: dropped, not migrated',
    setup: (d) =>
      d.fdb.update({ mac: macKey(Uint8Array.from([2, 0, 0, 0, 0, 0x0b])), ip: ip('10.7.7.7'), hasIp: true, port: null, vni: null, ifindex: 0, state: NUD_NOARP | NUD_PERMANENT, flags: NTF_SELF, nlFlags: NLM_F_CREATE }, 0),
    reason: 'fdb-static-conflict',
  },
];

for (const c of receiveCases) {
  test(`vxlan receive: ${c.name}`, () => {
    const sender = device({ remote: ip(A), local: ip(B) }, MAC_B);
    const p = c.mutate ? c.mutate(Buffer.from(payload(sender))) : payload(sender);
    const d = device(c.receiver ?? {}, MAC_A);
    c.setup?.(d);
    const out = newVxlanDecapResult();
    const reason = receiveVxlan(new Map([[100, d]]), p, 0, p.length, ip(B), c.outerTos ?? 0, 1, out);
    assert.equal(reason, c.reason);
    if (reason === null) {
      assert.equal(out.device, d);
      assert.equal(out.start, 8);
      assert.equal(p.subarray(out.start, out.start + 6).toString('hex'), '02000000000a');
      return;
    }
    assert.equal(out.device !== null, c.charged ?? true, 'charged to the device');
    if (out.device) countDrop(out.device.stats, out.device.drops, reason);
    for (const [k, v] of Object.entries(c.counters ?? {})) assert.equal(d.stats[k as keyof typeof d.stats], v, k);
    assert.equal(d.stats.rxPackets, 0);
  });
}

test('vxlan receive: learning maps the inner source to the outer source; nolearning learns nothing', () => {
  const sender = device({ remote: ip(A), local: ip(B) }, MAC_B);
  const learner = device();
  const quiet = device({ learning: false });
  const out = newVxlanDecapResult();
  for (const d of [learner, quiet]) {
    const p = payload(sender);
    assert.equal(receiveVxlan(new Map([[100, d]]), p, 0, p.length, ip('192.168.2.99'), 0, 3, out), null);
  }
  const learned = learner.fdb.get(macKey(Uint8Array.from([2, 0, 0, 0, 0, 0x0b])));
  assert.equal(learned?.remotes[0].ip, ip('192.168.2.99'));
  assert.equal(learned?.updated, 3);
  assert.equal(quiet.fdb.size, 1, 'only the default entry');
});

test('vxlan receive: outer CE on an ECT inner marks the inner CE and keeps its checksum right', () => {
  const sender = device({ remote: ip(A), local: ip(B) }, MAC_B);
  const p = Buffer.from(payload(sender, ipv4EchoFrame(MAC_A, MAC_B, '10.0.0.2', '10.0.0.1', { tos: 0x02 })));
  const out = newVxlanDecapResult();
  assert.equal(receiveVxlan(new Map([[100, device()]]), p, 0, p.length, ip(B), 0x03, 0, out), null);
  const inner = p.subarray(out.start + 14);
  assert.equal(inner[1], 0x03);
  assert.equal(internetChecksum(inner, 0, 20), 0);
});

test('vxlan receive: never throws on arbitrary bytes', () => {
  const d = device();
  const out = newVxlanDecapResult();
  let seed = 7;
  for (let n = 0; n < 2000; n++) {
    const len = n % 80;
    const p = Buffer.alloc(len);
    for (let i = 0; i < len; i++) p[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    if (len > 0 && n % 2 === 0) p[0] = 0x08;
    if (len > 6 && n % 3 === 0) p.set([0, 0, 100], 4);
    receiveVxlan(new Map([[100, d]]), p, 0, len, ip(B), 0, 0, out);
  }
});

test('vxlan PMTU notice: frag-needed as iptunnel_pmtud_build_icmp writes it, only for packets over the path MTU less 50', () => {
  const out = Buffer.alloc(VXLAN_PMTU_NOTICE_MAX);
  const frame = (payload: number, options: Parameters<typeof ipv4EchoFrame>[4] = {}) =>
    ipv4EchoFrame(MAC_B, MAC_A, '10.0.0.1', '10.0.0.2', { payload, ttl: 61, ...options });
  const fits = frame(1422);
  assert.equal(writeVxlanPmtuNotice(fits.bytes, fits.start, fits.length, 1500, out, 0), 0, '1450 fits');
  const big = frame(1472);
  const n = writeVxlanPmtuNotice(big.bytes, big.start, big.length, 1500, out, 0);
  assert.equal(n, 14 + 576, 'the quote is cut to 576 bytes of IPv4');
  assert.equal(out.subarray(0, 6).toString('hex'), MAC_A.replace(/:/g, ''), 'back to the sender');
  assert.equal(out.subarray(6, 12).toString('hex'), MAC_B.replace(/:/g, ''), 'from the destination');
  assert.equal(out.readUInt16BE(12), 0x0800);
  const ipv4 = out.subarray(14, n);
  assert.deepEqual([ipv4[1], ipv4.readUInt16BE(4), ipv4.readUInt16BE(6), ipv4[8], ipv4[9]], [0, 0, 0x4000, 61, 1], 'TOS 0, ID 0, DF, its TTL, ICMP');
  assert.equal(ipv4.readUInt32BE(12), ip('10.0.0.2'));
  assert.equal(ipv4.readUInt32BE(16), ip('10.0.0.1'));
  assert.equal(internetChecksum(ipv4, 0, 20), 0);
  assert.deepEqual([ipv4[20], ipv4[21], ipv4.readUInt16BE(26)], [3, 4, 1450]);
  assert.equal(internetChecksum(ipv4, 20, n - 14 - 20), 0);
  assert.deepEqual(ipv4.subarray(28, 48), big.bytes.subarray(big.start + 14, big.start + 34), 'quotes the packet');
  assert.equal(writeVxlanPmtuNotice(big.bytes, big.start, big.length, 1400, out, 0) > 0, true, 'a smaller path');
  assert.equal(writeVxlanPmtuNotice(big.bytes, big.start, big.length, 600, out, 0), 0, 'no frag-needed under 576');

  const cases: Array<[string, { bytes: Buffer; start: number; length: number }]> = [
    ['to a broadcast address', ipv4EchoFrame(MAC_B, MAC_A, '10.0.0.1', '255.255.255.255', { payload: 1472 })],
    ['from a multicast address', ipv4EchoFrame(MAC_B, MAC_A, '224.0.0.1', '10.0.0.2', { payload: 1472 })],
    ['not IP', ethernetFrame(MAC_B, MAC_A, 0x88b5, Buffer.alloc(1500))],
  ];
  for (const [name, f] of cases) assert.equal(writeVxlanPmtuNotice(f.bytes, f.start, f.length, 1500, out, 0), 0, name);

  const src = Buffer.from('20010db8000000000000000000000001', 'hex');
  const dst = Buffer.from('20010db8000000000000000000000002', 'hex');
  const p6 = ipv6Packet(src, dst, { payload: 1460, hopLimit: 33 });
  const f6 = ethernetFrame(MAC_B, MAC_A, 0x86dd, p6.bytes.subarray(p6.start, p6.start + p6.length));
  const m = writeVxlanPmtuNotice(f6.bytes, f6.start, f6.length, 1500, out, 0);
  assert.equal(m, 14 + 1280, 'Packet Too Big cut to 1280 bytes');
  assert.equal(out.readUInt16BE(12), 0x86dd);
  assert.equal(out[14 + 7], 33, 'its hop limit');
  assert.deepEqual([out.subarray(14 + 8, 14 + 24), out.subarray(14 + 24, 14 + 40)], [dst, src]);
  assert.deepEqual([out[54], out[55], out.readUInt32BE(58)], [2, 0, 1450]);
  assert.equal(writeVxlanPmtuNotice(f6.bytes, f6.start, f6.length, 1320, out, 0), 0, 'no Packet Too Big under 1280');
});
