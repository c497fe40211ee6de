import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFixture, loadPacket } from '../../test/fixtures/hex.js';
import { ipv4PseudoHeaderSum, ipv6PseudoHeaderSum } from './checksum.js';
import { readIpv4 } from './address.js';
import { emitUdp, fillUdpChecksum, parseUdp, udpHeaderLength, UdpHeader, UdpView, writeUdpHeader } from './udp.js';

// udp-port-unreachable.hex, first frame: python sends b"burrow wire fixture" from 192.0.2.1:40000 to
// 198.51.100.2:9 (tcpdump: UDP, length 19). Veth checksum offload was off, so the checksum is final.
const FRAME = loadPacket('udp-port-unreachable');
const AT = 34;
const LENGTH = 27;
const PSEUDO = ipv4PseudoHeaderSum(readIpv4(FRAME, 26), readIpv4(FRAME, 30), 17, LENGTH);
const RECORD: UdpHeader = { srcPort: 40000, dstPort: 9, length: 27, checksum: 0x8a7d };

function filled(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}

test('udp: deconstruct a captured datagram', () => {
  const view = new UdpView(FRAME, AT, LENGTH);
  assert.equal(view.check(PSEUDO), null);
  assert.equal(view.srcPort, 40000);
  assert.equal(view.dstPort, 9);
  assert.equal(view.udpLength, 27);
  assert.equal(view.checksum, 0x8a7d);
  assert.equal(view.payloadOffset, AT + 8);
  assert.equal(view.payloadLength, 19);
  assert.equal(Buffer.from(FRAME.subarray(view.payloadOffset, view.payloadOffset + 19)).toString(), 'burrow wire fixture');
});

test('udp: construct into a 0xa5 buffer with the hot-path writers', () => {
  const out = filled(LENGTH);
  out.set(FRAME.subarray(AT + 8, AT + LENGTH), 8);
  writeUdpHeader(out, 0, 40000, 9, 27);
  fillUdpChecksum(out, 0, PSEUDO);
  assert.deepEqual(out, FRAME.subarray(AT, AT + LENGTH));
});

test('udp: parse to the record', () => {
  assert.deepEqual(parseUdp(new UdpView(FRAME, AT, LENGTH), PSEUDO), RECORD);
  assert.deepEqual(parseUdp(new UdpView(FRAME, AT, LENGTH)), RECORD);
});

test('udp: emit the record, with a computed or a given checksum', () => {
  const out = filled(LENGTH + 1);
  out.set(FRAME.subarray(AT + 8, AT + LENGTH), 9);
  assert.equal(udpHeaderLength(RECORD), 8);
  assert.equal(emitUdp({ ...RECORD, checksum: 0 }, out, 1, PSEUDO), 8);
  assert.deepEqual(out.subarray(1), FRAME.subarray(AT, AT + LENGTH));
  const given = filled(8);
  emitUdp(RECORD, given, 0);
  assert.deepEqual(given, FRAME.subarray(AT, AT + 8));
});

test('udp: IPv6 and the VXLAN carriers verify too', () => {
  const v6 = loadPacket('udp6-port-unreachable');
  const view = new UdpView(v6, 54, 27);
  assert.equal(view.check(ipv6PseudoHeaderSum(v6, 22, v6, 38, 27, 17)), null);
  assert.equal(view.checksum, 0x1b3d);
  for (const frame of loadFixture('vxlan-arp-icmp')) {
    const length = (frame[38] << 8) | frame[39];
    const vx = new UdpView(frame, 34, frame.length - 34);
    assert.equal(vx.check(ipv4PseudoHeaderSum(readIpv4(frame, 26), readIpv4(frame, 30), 17, length)), null);
    assert.notEqual(vx.checksum, 0, 'udpcsum is on by default');
    assert.equal(vx.dstPort, 4789);
  }
});

test('udp: truncation, bad length and bad checksum', () => {
  for (let n = 0; n < LENGTH; n++) {
    assert.equal(new UdpView(FRAME, AT, n).check(), 'truncated', `length ${n}`);
    assert.equal(parseUdp(new UdpView(FRAME.slice(AT, AT + n))), 'truncated');
  }
  assert.equal(new UdpView(FRAME.slice(AT, AT + 26), 0, 27).check(), 'truncated');
  const b = FRAME.slice(AT, AT + LENGTH);
  b[5] = 7;
  assert.equal(new UdpView(b).check(), 'bad-length');
  b[5] = 27;
  b[12] ^= 0x01;
  assert.equal(new UdpView(b).check(PSEUDO), 'bad-checksum');
  assert.equal(new UdpView(b).check(), null, 'not verified without a pseudo-header sum');
  // Zero means "no checksum": accepted by check, left to the caller's rule.
  b[6] = 0;
  b[7] = 0;
  assert.equal(new UdpView(b).check(PSEUDO), null);
  // Trailing bytes beyond the length field are not payload.
  const padded = new Uint8Array(40);
  padded.set(FRAME.subarray(AT, AT + LENGTH));
  const view = new UdpView(padded);
  assert.equal(view.check(PSEUDO), null);
  assert.equal(view.payloadLength, 19);
});

test('udp: a computed checksum of zero is sent as 0xffff', () => {
  // Pick the pseudo-header sum that makes the datagram sum to 0xffff, i.e. a computed checksum of 0.
  const b = filled(10);
  writeUdpHeader(b, 0, 1, 2, 10);
  b[8] = 0;
  b[9] = 0;
  // Sum of header words (checksum 0): 1 + 2 + 10 = 13; 13 + pseudo = 0xffff -> pseudo = 0xfff2.
  fillUdpChecksum(b, 0, 0xfff2);
  assert.equal((b[6] << 8) | b[7], 0xffff);
  assert.equal(new UdpView(b).check(0xfff2), null);
});
