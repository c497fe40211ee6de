import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internetChecksum, ipv4PseudoHeaderSum } from './checksum.js';
import { newTcpSuperframe, parseTcpSuperframe, writeTcpSegment } from './gso.js';
import { appendToTcpGroup, finishTcpGroup, newTcpGroup, openTcpGroup, tcpCandidate } from './gro.js';
import { newVirtioNetHeader, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4 } from './virtio-net.js';

/** 10.0.0.1:1000 -> 10.0.0.2:2000, DF, ID 0xfffe, timestamps, seq 0xfffffffe, ACK|PSH, 3000 bytes. */
function superframe(payloadLength: number): Buffer {
  const b = Buffer.alloc(52 + payloadLength);
  b.write('45000000fffe400040060000' + '0a0000010a000002', 0, 'hex');
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(internetChecksum(b, 0, 20), 10);
  b.write('03e807d0fffffffe00000001' + '80180200' + '00000000' + '0101080a0000000100000002', 20, 'hex');
  for (let i = 0; i < payloadLength; i++) b[52 + i] = (i * 37) & 0xff;
  b.writeUInt16BE(ipv4PseudoHeaderSum(0x0a000001, 0x0a000002, 6, b.length - 20), 36); // the partial checksum
  return b;
}

const SLOT = 8192;

/** Cuts a superframe with gso.ts into slots of one buffer, as a receive batch holds them. */
function segments(frameBytes: Buffer, mss: number): { data: Buffer; starts: number[]; lengths: number[] } {
  const frame = newTcpSuperframe();
  const h = { flags: 1, gsoType: VIRTIO_NET_HDR_GSO_TCPV4, hdrLen: 52, gsoSize: mss, csumStart: 20, csumOffset: 16 };
  assert.equal(parseTcpSuperframe(frameBytes, 0, frameBytes.length, 0, h, frame), null);
  const data = Buffer.alloc(SLOT * frame.segments, 0xa5);
  const starts: number[] = [];
  const lengths: number[] = [];
  for (let k = 0; k < frame.segments; k++) {
    starts.push(k * SLOT + 20); // after an outer IPv4 header
    lengths.push(writeTcpSegment(frameBytes, 0, frame, k, data, k * SLOT + 20));
  }
  return { data, starts, lengths };
}

test('gro: the segments of a superframe coalesce back into it, with the partial checksum and header the kernel expects', () => {
  const original = superframe(3000);
  const { data, starts, lengths } = segments(original, 1000);
  const group = newTcpGroup();
  const l4 = tcpCandidate(data, starts[0], lengths[0], 0);
  assert.equal(l4, 20);
  openTcpGroup(data, starts[0], lengths[0], SLOT, 0, l4, group);
  for (let k = 1; k < starts.length; k++) {
    assert.equal(appendToTcpGroup(data, starts[k], lengths[k], tcpCandidate(data, starts[k], lengths[k], 0), group), true, `segment ${k}`);
  }
  assert.equal(group.open, false, 'PSH on the last segment closes the group');
  const h = newVirtioNetHeader();
  finishTcpGroup(data, group, h);
  assert.equal(group.length, original.length);
  assert.equal(data.toString('hex', starts[0], starts[0] + group.length), original.toString('hex'));
  assert.deepEqual(h, { flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: VIRTIO_NET_HDR_GSO_TCPV4, hdrLen: 52, gsoSize: 1000, csumStart: 20, csumOffset: 16 });
});

test('gro: a segment that does not continue the flow exactly is not merged', () => {
  const cases: Array<[string, (seg: Buffer) => void]> = [
    ['sequence gap', (s) => s.writeUInt32BE(s.readUInt32BE(24) + 1, 24)],
    ['other ack', (s) => s.writeUInt32BE(2, 28)],
    ['other window', (s) => s.writeUInt16BE(0x0201, 34)],
    ['other TTL', (s) => (s[8] = 63)],
    ['other TOS', (s) => (s[1] = 0x03)],
    ['IP ID gap', (s) => s.writeUInt16BE(0x1234, 4)],
    ['other options', (s) => (s[51] = 9)],
    ['SYN', (s) => (s[33] = 0x12)],
    ['FIN', (s) => (s[33] = 0x11)],
    ['bad TCP checksum', (s) => (s[60] ^= 1)],
  ];
  for (const [name, mutate] of cases) {
    const { data, starts, lengths } = segments(superframe(3000), 1000);
    const seg = data.subarray(starts[1], starts[1] + lengths[1]);
    mutate(seg);
    // Keep the IP checksum right unless the case is about it; the TCP checksum is redone except for the bad one.
    seg.writeUInt16BE(0, 10);
    seg.writeUInt16BE(internetChecksum(seg, 0, 20), 10);
    if (name !== 'bad TCP checksum') {
      seg.writeUInt16BE(0, 36);
      seg.writeUInt16BE(internetChecksum(seg, 20, seg.length - 20, ipv4PseudoHeaderSum(0x0a000001, 0x0a000002, 6, seg.length - 20)), 36);
    }
    const group = newTcpGroup();
    openTcpGroup(data, starts[0], lengths[0], SLOT, 0, tcpCandidate(data, starts[0], lengths[0], 0), group);
    const l4 = tcpCandidate(data, starts[1], lengths[1], 0);
    const merged = l4 >= 0 && appendToTcpGroup(data, starts[1], lengths[1], l4, group);
    assert.equal(merged, false, name);
    assert.equal(group.length, lengths[0], `${name}: the group is unchanged`);
  }
});

test('gro: the group stops at its room, and a short segment closes it', () => {
  const { data, starts, lengths } = segments(superframe(3500), 1000);
  const group = newTcpGroup();
  openTcpGroup(data, starts[0], lengths[0], starts[0] + lengths[0] + 1500, 0, 20, group);
  assert.equal(appendToTcpGroup(data, starts[1], lengths[1], 20, group), true);
  assert.equal(appendToTcpGroup(data, starts[2], lengths[2], 20, group), false, 'no room for a third');
  const g2 = newTcpGroup();
  openTcpGroup(data, starts[2], lengths[2], SLOT * 4, 0, 20, g2);
  assert.equal(appendToTcpGroup(data, starts[3], lengths[3], 20, g2), true, 'the last, shorter segment');
  assert.equal(g2.open, false);
});
