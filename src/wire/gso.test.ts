import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internetChecksum, ipv4PseudoHeaderSum, ipv6PseudoHeaderSum } from './checksum.js';
import { completeChecksum, newTcpSuperframe, parseTcpSuperframe, writeTcpSegment } from './gso.js';
import {
  newVirtioNetHeader,
  readVirtioNetHeader,
  writeVirtioNetHeader,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  type VirtioNetHeader,
} from './virtio-net.js';

// Expected bytes computed by an independent implementation (Python struct + its own RFC 1071 sum) from
// the same superframe: 10.0.0.1:1000 -> 10.0.0.2:2000, DF, ID 0xfffe (wraps), TCP timestamps option,
// seq 0xfffffffe (wraps), flags CWR|ACK|PSH|FIN, payload "abcdefghij", gso_size 4. The superframe's
// TCP checksum field holds junk: segmentation must not depend on it.
const SUPER4 =
  '4502003efffe4000400626b70a0000010a00000203e807d0fffffffe0000000180990200abcd00000101080a00000001000000026162636465666768696a';
const SEGMENTS4 = [
  '45020038fffe4000400626bd0a0000010a00000203e807d0fffffffe00000001809002008fb500000101080a000000010000000261626364',
  '45020038ffff4000400626bc0a0000010a00000203e807d0000000020000000180100200882a00000101080a000000010000000265666768',
  '4502003600004000400626be0a0000010a00000203e807d0000000060000000180190200eb8300000101080a0000000100000002696a',
];
const SUPER6 =
  '60012345002a0640fd000000000000000000000000000001fd00000000000000000000000000000203e807d0000000640000000180180200111100000101080a00000001000000026162636465666768696a';
const SEGMENTS6 = [
  '6001234500240640fd000000000000000000000000000001fd00000000000000000000000000000203e807d0000000640000000180100200a9ce00000101080a000000010000000261626364',
  '6001234500240640fd000000000000000000000000000001fd00000000000000000000000000000203e807d0000000680000000180100200a1c200000101080a000000010000000265666768',
  '6001234500220640fd000000000000000000000000000001fd00000000000000000000000000000203e807d00000006c0000000180180200051d00000101080a0000000100000002696a',
];

function header(gsoType: number, gsoSize: number, csumStart: number): VirtioNetHeader {
  return { flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType, hdrLen: 0, gsoSize, csumStart, csumOffset: 16 };
}

function segmentAll(superHex: string, h: VirtioNetHeader, lead = 0): string[] {
  const input = Buffer.alloc(lead + superHex.length / 2 + 4000, 0xa5);
  Buffer.from(superHex, 'hex').copy(input, lead);
  const frame = newTcpSuperframe();
  assert.equal(parseTcpSuperframe(input, lead, superHex.length / 2, 0, h, frame), null);
  const out: string[] = [];
  let at = lead + superHex.length / 2 + 10;
  for (let i = 0; i < frame.segments; i++) {
    const len = writeTcpSegment(input, lead, frame, i, input, at);
    out.push(input.toString('hex', at, at + len));
    at += len + 3;
  }
  return out;
}

test('gso: an IPv4 TCP superframe is cut into the exact segments (ID, length, seq, flags, checksums)', () => {
  assert.deepEqual(segmentAll(SUPER4, header(VIRTIO_NET_HDR_GSO_TCPV4, 4, 20)), SEGMENTS4);
  // The same in a separate destination buffer, and at an odd offset (the byte-loop checksum path).
  const frame = newTcpSuperframe();
  const src = Buffer.from(SUPER4, 'hex');
  assert.equal(parseTcpSuperframe(src, 0, src.length, 0, header(VIRTIO_NET_HDR_GSO_TCPV4, 4, 20), frame), null);
  const dst = Buffer.alloc(200, 0xa5);
  const len = writeTcpSegment(src, 0, frame, 1, dst, 7);
  assert.equal(dst.toString('hex', 7, 7 + len), SEGMENTS4[1]);
});

test('gso: an IPv6 TCP superframe is cut into the exact segments (payload length, seq, PSH last only)', () => {
  assert.deepEqual(segmentAll(SUPER6, header(VIRTIO_NET_HDR_GSO_TCPV6, 4, 40), 2), SEGMENTS6);
});

test('gso: a 64 KiB superframe behind an Ethernet header: every segment verifies and the payloads join up', () => {
  const mss = 1448;
  const payload = Buffer.alloc(64000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 131 + 7) & 0xff;
  const l3 = 14;
  const frameBytes = Buffer.alloc(l3 + 20 + 32 + payload.length);
  frameBytes.writeUInt16BE(0x0800, 12);
  frameBytes.writeUInt8(0x45, l3);
  frameBytes.writeUInt16BE(20 + 32 + payload.length > 0xffff ? 0 : 20 + 32 + payload.length, l3 + 2);
  frameBytes.writeUInt16BE(0x0100, l3 + 4);
  frameBytes.writeUInt8(64, l3 + 8);
  frameBytes.writeUInt8(6, l3 + 9);
  frameBytes.writeUInt32BE(0xc0a80001, l3 + 12);
  frameBytes.writeUInt32BE(0xc0a80002, l3 + 16);
  frameBytes.writeUInt32BE(12345678, l3 + 24);
  frameBytes.writeUInt8(8 << 4, l3 + 32);
  frameBytes.writeUInt8(0x18, l3 + 33);
  payload.copy(frameBytes, l3 + 52);
  const frame = newTcpSuperframe();
  const h = header(VIRTIO_NET_HDR_GSO_TCPV4, mss, l3 + 20);
  assert.equal(parseTcpSuperframe(frameBytes, 0, frameBytes.length, l3, h, frame), null);
  assert.equal(frame.segments, Math.ceil(64000 / mss));
  const out = Buffer.alloc(2000);
  const joined: Buffer[] = [];
  for (let i = 0; i < frame.segments; i++) {
    const len = writeTcpSegment(frameBytes, 0, frame, i, out, 0);
    const seg = out.subarray(0, len);
    assert.equal(seg.readUInt16BE(12), 0x0800, 'the Ethernet header is copied');
    assert.equal(internetChecksum(seg, l3, 20), 0, `IPv4 checksum of segment ${i}`);
    assert.equal(seg.readUInt16BE(l3 + 2), len - l3);
    assert.equal(seg.readUInt16BE(l3 + 4), 0x0100 + i);
    assert.equal(seg.readUInt32BE(l3 + 24), 12345678 + i * mss);
    assert.equal(seg[l3 + 33] & 0x08, i === frame.segments - 1 ? 0x08 : 0, 'PSH on the last only');
    const tcpLength = len - l3 - 20;
    const pseudo = ipv4PseudoHeaderSum(0xc0a80001, 0xc0a80002, 6, tcpLength);
    assert.equal(internetChecksum(seg, l3 + 20, tcpLength, pseudo), 0, `TCP checksum of segment ${i}`);
    assert.ok(len - l3 - 52 <= mss);
    joined.push(Buffer.from(seg.subarray(l3 + 52)));
  }
  assert.deepEqual(Buffer.concat(joined), payload);
});

test('gso: malformed superframes are refused, never cut', () => {
  const src = Buffer.from(SUPER4, 'hex');
  const frame = newTcpSuperframe();
  const ok = header(VIRTIO_NET_HDR_GSO_TCPV4, 4, 20);
  assert.equal(parseTcpSuperframe(src, 0, src.length, 0, { ...ok, gsoSize: 0 }, frame), 'bad-gso');
  assert.equal(parseTcpSuperframe(src, 0, src.length, 0, { ...ok, gsoType: 3 }, frame), 'bad-gso', 'UDP');
  assert.equal(parseTcpSuperframe(src, 0, src.length, 0, { ...ok, gsoType: VIRTIO_NET_HDR_GSO_TCPV6 }, frame), 'bad-gso');
  assert.equal(parseTcpSuperframe(src, 0, src.length, 0, { ...ok, csumStart: 24 }, frame), 'bad-gso');
  assert.equal(parseTcpSuperframe(src, 0, src.length, 0, { ...ok, csumOffset: 6 }, frame), 'bad-gso');
  for (let length = 0; length < 52; length++) {
    assert.notEqual(parseTcpSuperframe(src, 0, length, 0, ok, frame), null, `length ${length}`);
  }
});

test('gso: completeChecksum finishes a partial UDP checksum as the kernel would, and refuses a field outside', () => {
  // UDP 10.0.0.1:5000 -> 10.0.0.2:6000, payload "hello": the field holds the pseudo-header sum.
  const pkt = Buffer.from('4500002100004000401100000a0000010a000002138817700000000068656c6c6f', 'hex');
  pkt.writeUInt16BE(internetChecksum(pkt, 0, 20), 10);
  const udpLength = 13;
  const expected = internetChecksum(pkt, 20, udpLength, ipv4PseudoHeaderSum(0x0a000001, 0x0a000002, 17, udpLength));
  pkt.writeUInt16BE(ipv4PseudoHeaderSum(0x0a000001, 0x0a000002, 17, udpLength), 26);
  assert.equal(completeChecksum(pkt, 0, pkt.length, 20, 6), true);
  assert.equal(pkt.readUInt16BE(26), expected);
  assert.equal(completeChecksum(pkt, 0, pkt.length, 20, 12), false);
  assert.equal(completeChecksum(pkt, 0, pkt.length, 40, 6), false);
  // IPv6 TCP: the result verifies with the pseudo-header.
  const seg = Buffer.from(SEGMENTS6[0], 'hex');
  const tcpLength = seg.length - 40;
  seg.writeUInt16BE(ipv6PseudoHeaderSum(seg, 8, seg, 24, tcpLength, 6), 56);
  assert.equal(completeChecksum(seg, 0, seg.length, 40, 16), true);
  assert.equal(seg.toString('hex'), SEGMENTS6[0]);
});

test('virtio-net: the header reads and writes its little-endian fields', () => {
  const h = { flags: 1, gsoType: VIRTIO_NET_HDR_GSO_TCPV4, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 };
  const bytes = Buffer.alloc(12, 0xa5);
  writeVirtioNetHeader(h, bytes, 1);
  assert.equal(bytes.toString('hex'), 'a50101420' + '0a805220010' + '00a5');
  assert.deepEqual(readVirtioNetHeader(bytes, 1, newVirtioNetHeader()), h);
});
