import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFixture, loadPacket, toHex } from '../../test/fixtures/hex.js';
import { internetChecksum, ipv6PseudoHeaderSum } from './checksum.js';
import { parseIpv6 } from './address.js';
import { Ipv6View } from './ipv6.js';
import {
  buildIcmpv6Error,
  emitIcmpv6,
  icmpv6ErrorPermitted,
  icmpv6HeaderLength,
  Icmpv6Header,
  Icmpv6View,
  parseIcmpv6,
} from './icmpv6.js';

// ipv6-icmpv6-echo.hex: the kernel's `ping -6 -c1 -s 56` echo request; ICMPv6 starts at 14 + 40.
const ECHO = loadPacket('ipv6-icmpv6-echo');
const AT = 54;
const LENGTH = 64;
const PSEUDO = ipv6PseudoHeaderSum(ECHO, 22, ECHO, 38, LENGTH, 58);
const RECORD: Icmpv6Header = { type: 128, code: 0, body: (26624 << 16) | 1, checksum: 0x6218 };

function filled(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}

test('icmpv6: deconstruct a captured echo request', () => {
  const view = new Icmpv6View(ECHO, AT, LENGTH);
  assert.equal(view.check(PSEUDO), null);
  assert.equal(view.type, 128);
  assert.equal(view.code, 0);
  assert.equal(view.checksum, 0x6218);
  assert.equal(view.echoId, 26624);
  assert.equal(view.echoSequence, 1);
  assert.equal(view.body, (26624 << 16) | 1);
  assert.equal(view.isError, false);
  assert.equal(view.payloadOffset, AT + 8);
  assert.equal(view.payloadLength, 56);
});

test('icmpv6: construct into a 0xa5 buffer', () => {
  const bytes = filled(LENGTH);
  bytes.set(ECHO.subarray(AT + 8, AT + LENGTH), 8);
  emitIcmpv6({ type: 128, code: 0, body: (26624 << 16) | 1, checksum: 0 }, bytes, 0, 56, PSEUDO);
  assert.deepEqual(bytes, ECHO.subarray(AT, AT + LENGTH));
});

test('icmpv6: parse to the record', () => {
  assert.deepEqual(parseIcmpv6(new Icmpv6View(ECHO, AT, LENGTH), PSEUDO), RECORD);
});

test('icmpv6: emit the record', () => {
  const bytes = filled(LENGTH + 3);
  bytes.set(ECHO.subarray(AT + 8, AT + LENGTH), 11);
  assert.equal(icmpv6HeaderLength(RECORD), 8);
  assert.equal(emitIcmpv6(RECORD, bytes, 3, 56, PSEUDO), 8);
  assert.deepEqual(bytes.subarray(3), ECHO.subarray(AT, AT + LENGTH));
});

test('icmpv6: truncation and checksum (the pseudo-header counts)', () => {
  for (let n = 0; n < 8; n++) {
    assert.equal(new Icmpv6View(ECHO, AT, n).check(PSEUDO), 'truncated');
    assert.equal(parseIcmpv6(new Icmpv6View(ECHO.slice(AT, AT + n)), PSEUDO), 'truncated');
  }
  assert.equal(new Icmpv6View(ECHO.slice(AT, AT + 63), 0, 64).check(PSEUDO), 'truncated');
  assert.equal(new Icmpv6View(ECHO, AT, LENGTH).check(ipv6PseudoHeaderSum(ECHO, 38, ECHO, 22, LENGTH, 58)), null, 'src/dst swap sums the same');
  assert.equal(new Icmpv6View(ECHO, AT, LENGTH).check(ipv6PseudoHeaderSum(ECHO, 22, ECHO, 38, LENGTH, 17)), 'bad-checksum');
  assert.equal(new Icmpv6View(ECHO, AT, LENGTH).check(0), 'bad-checksum');
});

/** The kernel's error in `frames[1]` and ours from the same inputs. */
function rebuild(frames: Uint8Array[], type: number, code: number, info: number, quote: Uint8Array, quoteOffset: number, quoteLength: number) {
  const kernel = frames[1].subarray(14);
  const outer = new Ipv6View(kernel);
  assert.equal(outer.check(), null);
  const out = filled(1400);
  const n = buildIcmpv6Error(
    out, 7, type, code, info, kernel, outer.srcOffset, kernel, outer.dstOffset, quote, quoteOffset, quoteLength, outer.hopLimit, outer.flowLabel,
  );
  return { kernel: toHex(kernel), ours: toHex(out.subarray(7, 7 + n)), n, outer };
}

// icmpv6-packet-too-big.hex: R answers a 1500-byte echo with Packet Too Big, mtu 1400, 1280 bytes in all.
test('icmpv6: Packet Too Big built byte for byte as the kernel built it (1280-byte cap)', () => {
  const frames = loadFixture('icmpv6-packet-too-big');
  const r = rebuild(frames, 2, 0, 1400, frames[0], 14, 1500);
  assert.equal(r.n, 1280);
  assert.equal(r.ours, r.kernel);
  assert.equal(r.outer.trafficClass, 0);
  const view = new Icmpv6View(frames[1], 54, 1240);
  assert.equal(view.check(ipv6PseudoHeaderSum(frames[1], 22, frames[1], 38, 1240, 58)), null);
  assert.equal(view.mtu, 1400);
  assert.equal(view.isError, true);
});

// icmpv6-time-exceeded.hex: `ping -6 -t 1`.
test('icmpv6: time exceeded built byte for byte as the kernel built it', () => {
  const frames = loadFixture('icmpv6-time-exceeded');
  const r = rebuild(frames, 3, 0, 0, frames[0], 14, 104);
  assert.equal(r.n, 152);
  assert.equal(r.ours, r.kernel);
});

// udp6-port-unreachable.hex: B answers UDP to port 9 (R forwarded both: hop limit 63 on each).
test('icmpv6: port unreachable built byte for byte as the kernel built it', () => {
  const frames = loadFixture('udp6-port-unreachable');
  const quote = frames[1].subarray(14 + 48);
  const r = rebuild(frames, 1, 4, 0, quote, 0, quote.length);
  assert.equal(r.n, 115);
  assert.equal(r.ours, r.kernel);
});

test('icmpv6: when Linux would not send an error at all', () => {
  const echo = ECHO.slice(14);
  const set = (f: (b: Uint8Array) => void) => {
    const b = echo.slice();
    f(b);
    return b;
  };
  assert.equal(icmpv6ErrorPermitted(echo, 0, 104, 1), true);
  assert.equal(icmpv6ErrorPermitted(set((b) => b.fill(0, 8, 24)), 0, 104, 1), false, 'unspecified source');
  assert.equal(icmpv6ErrorPermitted(set((b) => (b[8] = 0xff)), 0, 104, 2), false, 'multicast source');
  const toMulticast = set((b) => b.set(parseIpv6('ff02::1')!, 24));
  assert.equal(icmpv6ErrorPermitted(toMulticast, 0, 104, 1), false, 'multicast destination, unreachable');
  assert.equal(icmpv6ErrorPermitted(toMulticast, 0, 104, 2), true, 'multicast destination, too big');
  // About ICMPv6 errors (type < 128): never.
  assert.equal(icmpv6ErrorPermitted(set((b) => (b[40] = 1)), 0, 104, 1), false);
  assert.equal(icmpv6ErrorPermitted(set((b) => (b[40] = 127)), 0, 104, 1), false);
  assert.equal(icmpv6ErrorPermitted(set((b) => (b[40] = 135)), 0, 104, 1), true);
  // Behind a Hop-by-Hop header (8 bytes: next header 58, length 0, PadN).
  const hbh = new Uint8Array(112);
  hbh.set(echo.subarray(0, 40));
  hbh[6] = 0;
  hbh.set(Uint8Array.of(58, 0, 1, 4, 0, 0, 0, 0), 40);
  hbh.set(echo.subarray(40), 48);
  assert.equal(icmpv6ErrorPermitted(hbh, 0, 112, 1), true);
  hbh[48] = 3;
  assert.equal(icmpv6ErrorPermitted(hbh, 0, 112, 1), false, 'an error behind a Hop-by-Hop header');
  // A non-first fragment of anything: eligible (its type cannot be known).
  const frag = new Uint8Array(56);
  frag.set(echo.subarray(0, 40));
  frag[6] = 44;
  frag.set(Uint8Array.of(58, 0, 0x05, 0xa8, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0), 40);
  assert.equal(icmpv6ErrorPermitted(frag, 0, 56, 1), true);
  assert.equal(icmpv6ErrorPermitted(echo, 0, 39, 1), false, 'too short');
  assert.equal(icmpv6ErrorPermitted(ECHO, 0, 104, 1), false, 'not IPv6 (that is the Ethernet header)');
  // The kernel's own PTB is an error: never answered.
  assert.equal(icmpv6ErrorPermitted(loadFixture('icmpv6-packet-too-big')[1], 14, 1280, 1), false);
});

test('icmpv6: the built error verifies and quotes at most 1232 bytes', () => {
  const big = filled(3000);
  big[0] = 0x60;
  const out = new Uint8Array(1300);
  const src = parseIpv6('2001:db8::1')!;
  const dst = parseIpv6('2001:db8::2')!;
  const n = buildIcmpv6Error(out, 0, 2, 0, 1280, src, 0, dst, 0, big, 0, 3000);
  assert.equal(n, 1280);
  assert.equal(new Ipv6View(out).payloadLength, 1240);
  assert.equal(internetChecksum(out, 40, 1240, ipv6PseudoHeaderSum(out, 8, out, 24, 1240, 58)), 0);
  assert.equal(new Icmpv6View(out, 40, 1240).mtu, 1280);
});
