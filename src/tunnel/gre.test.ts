import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internetChecksum } from '../wire/checksum.js';
import { countDrop } from './drop.js';
import { encapsulateGre, receiveGre } from './gre.js';
import { decapsulate } from './ip-tunnel.js';
import { newDecapResult, newEncapResult } from './mode.js';
import { GRE_CSUM, GRE_KEY, GRE_SEQ, type TunnelParams } from './params.js';
import { TunnelTable } from './table.js';
import { ip, ipv4Echo, upTunnel } from './test-helpers.js';
import type { Tunnel } from './tunnel.js';

const A = '192.168.1.10';
const B = '192.168.2.20';

function sender(fields: Partial<TunnelParams> = {}): Tunnel {
  return upTunnel({ name: 'ga', mode: 'gre', local: ip(A), remote: ip(B), ttl: 64, ...fields });
}
function receiver(fields: Partial<TunnelParams> = {}): { table: TunnelTable; t: Tunnel } {
  const t = upTunnel({ name: 'gb', mode: 'gre', local: ip(B), remote: ip(A), ttl: 64, ...fields });
  const table = new TunnelTable();
  table.add(t);
  return { table, t };
}

/** Encapsulates one echo request on `from` and returns the outer packet's bytes. */
function send(from: Tunnel): Buffer {
  const pkt = ipv4Echo('10.0.0.1', '10.0.0.2');
  const out = newEncapResult();
  assert.equal(encapsulateGre(from, pkt.bytes, pkt.start, pkt.length, out), null);
  return Buffer.from(pkt.bytes.subarray(out.start, out.start + out.length));
}

test('gre key 42: header 20 00 08 00 00 00 00 2a, outer header as the kernel writes it (spec 4.5)', () => {
  const outer = send(sender({ oflags: GRE_KEY, okey: 42 }));
  assert.equal(outer.length, 20 + 8 + 84);
  assert.deepEqual([...outer.subarray(20, 28)], [0x20, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x2a]);
  assert.equal(outer[0], 0x45);
  assert.equal(outer.readUInt16BE(2), outer.length, 'total length');
  assert.equal(outer.readUInt16BE(6), 0x4000, 'DF (pmtudisc), not a fragment');
  assert.equal(outer[8], 64, 'fixed TTL');
  assert.equal(outer[9], 47);
  assert.equal(outer.readUInt32BE(12), ip(A));
  assert.equal(outer.readUInt32BE(16), ip(B));
  assert.equal(internetChecksum(outer, 0, 20), 0, 'header checksum');
});

test('gre plain header is 00 00 08 00; IPv6 payload type 86 dd', () => {
  const outer = send(sender());
  assert.deepEqual([...outer.subarray(20, 24)], [0x00, 0x00, 0x08, 0x00]);
});

test('gre csum + key + seq: fields in RFC order, checksum verifies, sequence counts from 0', () => {
  const t = sender({ oflags: GRE_CSUM | GRE_KEY | GRE_SEQ, okey: 7 });
  const first = send(t);
  const second = send(t);
  for (const [outer, seq] of [
    [first, 0],
    [second, 1],
  ] as const) {
    assert.equal(outer.readUInt16BE(20), 0xb000);
    assert.equal(outer.readUInt32BE(28), 7, 'key after checksum');
    assert.equal(outer.readUInt32BE(32), seq, 'sequence after key');
    assert.equal(internetChecksum(outer, 20, outer.length - 20), 0, 'GRE checksum over header and payload');
  }
});

test('gre oseq: a packet refused by the route or MTU checks still takes a sequence number, as in the kernel', () => {
  const t = sender({ oflags: GRE_SEQ });
  assert.equal(send(t).readUInt32BE(24), 0);
  t.route = 'no-route';
  const pkt = ipv4Echo('10.0.0.1', '10.0.0.2');
  assert.equal(encapsulateGre(t, pkt.bytes, pkt.start, pkt.length, newEncapResult()), 'no-route');
  t.route = 'ok';
  t.routeMtu = 100;
  const big = ipv4Echo('10.0.0.1', '10.0.0.2');
  assert.equal(encapsulateGre(t, big.bytes, big.start, big.length, newEncapResult()), 'too-big');
  t.routeMtu = 1500;
  assert.equal(send(t).readUInt32BE(24), 3, 'numbers 1 and 2 went with the refused packets');
});

interface Case {
  name: string;
  tx: Partial<TunnelParams>;
  rx: Partial<TunnelParams>;
  delivered: boolean;
  reason?: string;
  counters?: Partial<Record<'rxCrcErrors' | 'rxFifoErrors' | 'rxErrors', number>>;
}

const cases: Case[] = [
  { name: 'plain to plain', tx: {}, rx: {}, delivered: true },
  { name: 'key match', tx: { oflags: GRE_KEY, okey: 5 }, rx: { iflags: GRE_KEY, ikey: 5 }, delivered: true },
  { name: 'key mismatch', tx: { oflags: GRE_KEY, okey: 5 }, rx: { iflags: GRE_KEY, ikey: 6 }, delivered: false, reason: 'no-tunnel' },
  { name: 'keyed to keyless', tx: { oflags: GRE_KEY, okey: 5 }, rx: {}, delivered: false, reason: 'no-tunnel' },
  { name: 'keyless to keyed', tx: {}, rx: { iflags: GRE_KEY, ikey: 5 }, delivered: false, reason: 'no-tunnel' },
  { name: 'csum both', tx: { oflags: GRE_CSUM }, rx: { iflags: GRE_CSUM }, delivered: true },
  { name: 'ocsum without icsum', tx: { oflags: GRE_CSUM }, rx: {}, delivered: false, reason: 'csum-mismatch', counters: { rxCrcErrors: 1, rxErrors: 1 } },
  { name: 'icsum without ocsum', tx: {}, rx: { iflags: GRE_CSUM }, delivered: false, reason: 'csum-mismatch', counters: { rxCrcErrors: 1, rxErrors: 1 } },
  { name: 'seq both', tx: { oflags: GRE_SEQ }, rx: { iflags: GRE_SEQ }, delivered: true },
  { name: 'iseq without oseq', tx: {}, rx: { iflags: GRE_SEQ }, delivered: false, reason: 'seq-out-of-order', counters: { rxFifoErrors: 1, rxErrors: 1 } },
  { name: 'oseq without iseq is accepted', tx: { oflags: GRE_SEQ }, rx: {}, delivered: true },
];

for (const c of cases) {
  test(`gre receive: ${c.name}`, () => {
    const outer = send(sender(c.tx));
    const { table, t } = receiver(c.rx);
    const out = newDecapResult();
    const reason = decapsulate(receiveGre, table, outer, 0, outer.length, 0, out);
    if (c.delivered) {
      assert.equal(reason, null);
      assert.equal(out.tunnel, t);
      assert.equal(out.length, 84);
      assert.equal(outer.readUInt32BE(out.start + 16), ip('10.0.0.2'), 'inner packet unchanged');
    } else {
      assert.equal(reason, c.reason);
      if (reason !== null && out.tunnel) countDrop(out.tunnel.stats, out.tunnel.drops, reason);
      for (const [k, v] of Object.entries(c.counters ?? {})) assert.equal(t.stats[k as keyof typeof t.stats], v, k);
      assert.equal(t.stats.rxPackets, 0);
    }
  });
}

test('gre receive: reordered and duplicated sequence numbers are dropped, gaps accepted', () => {
  const tx = sender({ oflags: GRE_SEQ });
  const packets = [0, 1, 2, 3, 4].map(() => send(tx));
  const { table } = receiver({ iflags: GRE_SEQ });
  const out = newDecapResult();
  const order = [0, 2, 1, 2, 4, 3];
  const results = order.map((i) => decapsulate(receiveGre, table, Buffer.from(packets[i]), 0, packets[i].length, 0, out));
  assert.deepEqual(results, [null, null, 'seq-out-of-order', 'seq-out-of-order', null, 'seq-out-of-order']);
});

test('gre receive: malformed GRE is dropped before the lookup, with a reason', () => {
  const { table } = receiver();
  const out = newDecapResult();
  const good = send(sender({ oflags: GRE_CSUM }));
  const corrupt = Buffer.from(good);
  corrupt[good.length - 1] ^= 0xff;
  assert.equal(decapsulate(receiveGre, table, corrupt, 0, corrupt.length, 0, out), 'gre-bad-checksum');
  const version = Buffer.from(send(sender()));
  version[21] = 1;
  assert.equal(decapsulate(receiveGre, table, version, 0, version.length, 0, out), 'gre-version');
  const routing = Buffer.from(send(sender()));
  routing[20] = 0x40;
  assert.equal(decapsulate(receiveGre, table, routing, 0, routing.length, 0, out), 'gre-routing');
  for (let cut = 0; cut < 24; cut++) {
    const r = decapsulate(receiveGre, table, good, 0, cut, 0, out);
    assert.ok(r === 'outer-malformed' || r === 'gre-truncated', `cut at ${cut}: ${r}`);
  }
  assert.equal(out.tunnel, null);
});

test('gre transmit: a packet over the path MTU with DF is too big, with the MTU to report', () => {
  const t = sender({ oflags: GRE_KEY, okey: 1 });
  t.routeMtu = 1400;
  const big = ipv4Echo('10.0.0.1', '10.0.0.2', { payload: 1400 });
  const out = newEncapResult();
  assert.equal(encapsulateGre(t, big.bytes, big.start, big.length, out), 'too-big');
  assert.equal(out.mtu, 1400 - 20 - 8);
});
