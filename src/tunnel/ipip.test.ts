import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internetChecksum } from '../wire/checksum.js';
import { encapsulateIpip, receiveIpip } from './ipip.js';
import { decapsulate } from './ip-tunnel.js';
import { newDecapResult, newEncapResult } from './mode.js';
import type { TunnelParams } from './params.js';
import { TunnelTable } from './table.js';
import { ip, ipv4Echo, ipv6Packet, upTunnel } from './test-helpers.js';

const A = ip('192.168.1.10');
const B = ip('192.168.2.20');
const v6 = (last: number): Uint8Array => Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last);

function encap(fields: Partial<TunnelParams>, pkt: ReturnType<typeof ipv4Echo>) {
  const t = upTunnel({ name: 'a', mode: 'ipip', local: A, remote: B, ...fields });
  const out = newEncapResult();
  const reason = encapsulateIpip(t, pkt.bytes, pkt.start, pkt.length, out);
  return { t, reason, outer: pkt.bytes.subarray(out.start, out.start + out.length) };
}

test('ipip: outer header prepended, inner unchanged (spec 4.1)', () => {
  const pkt = ipv4Echo('10.0.0.1', '10.0.0.2');
  const inner = Buffer.from(pkt.bytes.subarray(pkt.start, pkt.start + pkt.length));
  const { reason, outer } = encap({ ttl: 64 }, pkt);
  assert.equal(reason, null);
  assert.equal(outer.length, inner.length + 20);
  assert.equal(outer[9], 4);
  assert.equal(outer[8], 64);
  assert.equal(outer.readUInt16BE(6) & 0x4000, 0x4000);
  assert.equal(internetChecksum(outer, 0, 20), 0);
  assert.deepEqual(outer.subarray(20), inner);
});

test('ipip: ttl inherit copies the inner TTL; tos inherit copies the DS field, ECN by RFC 6040', () => {
  assert.equal(encap({ ttl: 0 }, ipv4Echo('10.0.0.1', '10.0.0.2', { ttl: 1 })).outer[8], 1);
  assert.equal(encap({ ttl: 0 }, ipv4Echo('10.0.0.1', '10.0.0.2', { ttl: 17 })).outer[8], 17);
  assert.equal(encap({ ttl: 9 }, ipv4Echo('10.0.0.1', '10.0.0.2', { ttl: 17 })).outer[8], 9);
  assert.equal(encap({ tos: 1 }, ipv4Echo('10.0.0.1', '10.0.0.2', { tos: 0xb8 })).outer[1], 0xb8);
  assert.equal(encap({ tos: 0x10 }, ipv4Echo('10.0.0.1', '10.0.0.2', { tos: 0xb8 })).outer[1], 0x10);
  assert.equal(encap({ tos: 0x10 }, ipv4Echo('10.0.0.1', '10.0.0.2', { tos: 0x03 })).outer[1], 0x12, 'inner CE -> outer ECT(0)');
});

test('ipip: DF from pmtudisc or the inner packet', () => {
  assert.equal(encap({ pmtudisc: false }, ipv4Echo('10.0.0.1', '10.0.0.2', { df: false })).outer.readUInt16BE(6), 0);
  assert.equal(encap({ pmtudisc: false }, ipv4Echo('10.0.0.1', '10.0.0.2', { df: true })).outer.readUInt16BE(6), 0x4000);
});

test('ipip: each outer packet with DF takes the next ID of the tunnel; without DF the ID is left 0 for the socket', () => {
  // The kernel's tunnels give every outer packet a fresh ID (iptunnel_xmit -> __ip_select_ident);
  // a raw socket fills in a zero ID the same way, but only for packets without DF.
  const t = upTunnel({ name: 'a', mode: 'ipip', local: A, remote: B });
  t.txId = 0xfffe;
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) {
    const pkt = ipv4Echo('10.0.0.1', '10.0.0.2');
    const out = newEncapResult();
    assert.equal(encapsulateIpip(t, pkt.bytes, pkt.start, pkt.length, out), null);
    const outer = pkt.bytes.subarray(out.start, out.start + out.length);
    ids.push(outer.readUInt16BE(4));
    assert.equal(internetChecksum(outer, 0, 20), 0, 'the header checksum covers the ID');
  }
  assert.deepEqual(ids, [0xfffe, 0xffff, 0], 'one by one, wrapping at 16 bits');
  const noDf = encap({ pmtudisc: false }, ipv4Echo('10.0.0.1', '10.0.0.2', { df: false }));
  assert.equal(noDf.outer.readUInt16BE(4), 0);
  assert.equal(noDf.t.txId, 0, 'not counted');
});

test('ipip refuses IPv6 (tx_errors on the kernel), route failures are NoRoute and DeadLoop', () => {
  const t = upTunnel({ name: 'a', mode: 'ipip', local: A, remote: B });
  const out = newEncapResult();
  const six = ipv6Packet(v6(1), v6(2));
  assert.equal(encapsulateIpip(t, six.bytes, six.start, six.length, out), 'tx-wrong-protocol');
  const four = ipv4Echo('10.0.0.1', '10.0.0.2');
  t.route = 'no-route';
  assert.equal(encapsulateIpip(t, four.bytes, four.start, four.length, out), 'no-route');
  t.route = 'dead-loop';
  assert.equal(encapsulateIpip(t, four.bytes, four.start, four.length, out), 'dead-loop');
});

test('ipip receive: only from the configured remote; ECN CE on not-ECT inner is dropped', () => {
  const table = new TunnelTable();
  const b = upTunnel({ name: 'b', mode: 'ipip', local: B, remote: A });
  table.add(b);
  const out = newDecapResult();
  const { outer } = encap({}, ipv4Echo('10.0.0.1', '10.0.0.2'));
  assert.equal(decapsulate(receiveIpip, table, Buffer.from(outer), 0, outer.length, 0, out), null);
  assert.equal(out.tunnel, b);
  const spoofed = Buffer.from(outer);
  spoofed.writeUInt32BE(ip('192.168.9.9'), 12);
  spoofed.writeUInt16BE(0, 10);
  spoofed.writeUInt16BE(internetChecksum(spoofed, 0, 20), 10);
  assert.equal(decapsulate(receiveIpip, table, spoofed, 0, spoofed.length, 0, out), 'no-tunnel');
  assert.equal(out.tunnel, null);
  const ce = Buffer.from(outer);
  ce[1] = 0x03;
  ce.writeUInt16BE(0, 10);
  ce.writeUInt16BE(internetChecksum(ce, 0, 20), 10);
  assert.equal(decapsulate(receiveIpip, table, ce, 0, ce.length, 0, out), 'ecn-ce-not-ect');
  b.up = false;
  assert.equal(decapsulate(receiveIpip, table, Buffer.from(outer), 0, outer.length, 0, out), 'no-tunnel', 'a tunnel that is down takes nothing');
});

test('ipip receive: outer CE marks an ECT inner CE and fixes its checksum', () => {
  const table = new TunnelTable();
  table.add(upTunnel({ name: 'b', mode: 'ipip', local: B, remote: A }));
  const { outer } = encap({}, ipv4Echo('10.0.0.1', '10.0.0.2', { tos: 0x02 }));
  const packet = Buffer.from(outer);
  packet[1] = 0x03;
  packet.writeUInt16BE(0, 10);
  packet.writeUInt16BE(internetChecksum(packet, 0, 20), 10);
  const out = newDecapResult();
  assert.equal(decapsulate(receiveIpip, table, packet, 0, packet.length, 0, out), null);
  assert.equal(packet[out.start + 1] & 3, 3);
  assert.equal(internetChecksum(packet, out.start, 20), 0);
});
