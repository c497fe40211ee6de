import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decapsulate } from './ip-tunnel.js';
import { newDecapResult, newEncapResult } from './mode.js';
import { encapsulateSit, isatapInterfaceId, receiveSit } from './sit.js';
import { TunnelTable } from './table.js';
import { ip, ipv4Echo, ipv6Packet, upTunnel } from './test-helpers.js';

const A = ip('192.168.1.10');
const B = ip('192.168.2.20');
const v6 = (last: number): Uint8Array => Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, last);

test('sit: IPv6 in protocol 41, hop limit inherited, IPv4 refused', () => {
  const t = upTunnel({ name: 's', mode: 'sit', local: A, remote: B });
  const pkt = ipv6Packet(v6(1), v6(2), { hopLimit: 33, trafficClass: 0xb8 });
  const out = newEncapResult();
  assert.equal(encapsulateSit(t, pkt.bytes, pkt.start, pkt.length, out), null);
  const outer = pkt.bytes.subarray(out.start, out.start + out.length);
  assert.equal(outer[9], 41);
  assert.equal(outer[8], 33);
  assert.equal(outer[1], 0, 'tos not inherited unless tos inherit');
  const four = ipv4Echo('10.0.0.1', '10.0.0.2');
  assert.equal(encapsulateSit(t, four.bytes, four.start, four.length, out), 'tx-wrong-protocol');
});

test('sit: tos inherit only for exactly 1; inherit/AF11 is treated as fixed', () => {
  const out = newEncapResult();
  const pkt = () => ipv6Packet(v6(1), v6(2), { trafficClass: 0xb8 });
  const inherit = upTunnel({ name: 's', mode: 'sit', local: A, remote: B, tos: 1 });
  let p = pkt();
  encapsulateSit(inherit, p.bytes, p.start, p.length, out);
  assert.equal(p.bytes[out.start + 1], 0xb8);
  const af11 = upTunnel({ name: 's', mode: 'sit', local: A, remote: B, tos: 0x29 });
  p = pkt();
  encapsulateSit(af11, p.bytes, p.start, p.length, out);
  assert.equal(p.bytes[out.start + 1], 0x28);
});

test('sit: Packet Too Big over the path MTU; below 1280 the packet goes without DF', () => {
  const t = upTunnel({ name: 's', mode: 'sit', local: A, remote: B });
  t.routeMtu = 1400;
  const out = newEncapResult();
  const big = ipv6Packet(v6(1), v6(2), { payload: 1400 });
  assert.equal(encapsulateSit(t, big.bytes, big.start, big.length, out), 'too-big');
  assert.equal(out.mtu, 1380);
  t.routeMtu = 1200;
  const p = ipv6Packet(v6(1), v6(2), { payload: 1300 });
  assert.equal(encapsulateSit(t, p.bytes, p.start, p.length, out), null);
  assert.equal(p.bytes.readUInt16BE(out.start + 6) & 0x4000, 0);
});

test('sit receive: delivers IPv6 from the remote; IPv4 inner is malformed for sit', () => {
  const a = upTunnel({ name: 'a', mode: 'sit', local: A, remote: B });
  const table = new TunnelTable();
  const b = upTunnel({ name: 'b', mode: 'sit', local: B, remote: A });
  table.add(b);
  const pkt = ipv6Packet(v6(1), v6(2));
  const enc = newEncapResult();
  encapsulateSit(a, pkt.bytes, pkt.start, pkt.length, enc);
  const outer = Buffer.from(pkt.bytes.subarray(enc.start, enc.start + enc.length));
  const out = newDecapResult();
  assert.equal(decapsulate(receiveSit, table, outer, 0, outer.length, 0, out), null);
  assert.equal(out.tunnel, b);
  assert.equal(out.length, 56);
  outer[20] = 0x45;
  assert.equal(decapsulate(receiveSit, table, outer, 0, outer.length, 0, out), 'inner-malformed');
});

test('ISATAP interface identifier: private and special addresses get 00, global ones 02', () => {
  assert.deepEqual([...isatapInterfaceId(ip('192.168.1.10'))], [0, 0, 0x5e, 0xfe]);
  assert.deepEqual([...isatapInterfaceId(ip('203.0.113.5'))], [2, 0, 0x5e, 0xfe]);
  assert.deepEqual([...isatapInterfaceId(ip('192.0.2.1'))], [0, 0, 0x5e, 0xfe]);
});
