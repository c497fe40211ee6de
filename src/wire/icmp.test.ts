import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFixture, loadPacket, toHex } from '../../test/fixtures/hex.js';
import { internetChecksum } from './checksum.js';
import { parseIpv4Dotted } from './address.js';
import { Ipv4View } from './ipv4.js';
import {
  buildIcmpError,
  emitIcmp,
  icmpErrorPermitted,
  icmpHeaderLength,
  IcmpHeader,
  IcmpView,
  isIcmpErrorType,
  parseIcmp,
  ICMP_ERROR_MAX_LENGTH,
} from './icmp.js';

// ipv4-icmp-echo.hex: the kernel's `ping -c1 -s 56` echo request; ICMP starts at 14 + 20.
const ECHO = loadPacket('ipv4-icmp-echo');
const AT = 34;
const LENGTH = 64;
const RECORD: IcmpHeader = { type: 8, code: 0, restOfHeader: (26262 << 16) | 1, checksum: 0x56df };

function filled(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}

test('icmp: deconstruct a captured echo request', () => {
  const view = new IcmpView(ECHO, AT, LENGTH);
  assert.equal(view.check(), null);
  assert.equal(view.type, 8);
  assert.equal(view.code, 0);
  assert.equal(view.checksum, 0x56df);
  assert.equal(view.echoId, 26262);
  assert.equal(view.echoSequence, 1);
  assert.equal(view.restOfHeader, (26262 << 16) | 1);
  assert.equal(view.isError, false);
  assert.equal(view.payloadOffset, AT + 8);
  assert.equal(view.payloadLength, 56);
});

test('icmp: construct into a 0xa5 buffer (payload first, then header and checksum)', () => {
  const bytes = filled(LENGTH);
  bytes.set(ECHO.subarray(AT + 8, AT + LENGTH), 8);
  assert.equal(emitIcmp({ type: 8, code: 0, restOfHeader: (26262 << 16) | 1, checksum: 0 }, bytes, 0, 56), 8);
  assert.deepEqual(bytes, ECHO.subarray(AT, AT + LENGTH));
});

test('icmp: parse to the record', () => {
  assert.deepEqual(parseIcmp(new IcmpView(ECHO, AT, LENGTH)), RECORD);
});

test('icmp: emit the record', () => {
  const bytes = filled(LENGTH + 2);
  bytes.set(ECHO.subarray(AT + 8, AT + LENGTH), 10);
  assert.equal(icmpHeaderLength(RECORD), 8);
  emitIcmp(RECORD, bytes, 2, 56);
  assert.deepEqual(bytes.subarray(2), ECHO.subarray(AT, AT + LENGTH));
  assert.equal(bytes[1], 0xa5);
});

test('icmp: truncation and checksum', () => {
  for (let n = 0; n < 8; n++) {
    assert.equal(new IcmpView(ECHO, AT, n).check(), 'truncated');
    assert.equal(parseIcmp(new IcmpView(ECHO.slice(AT, AT + n))), 'truncated');
  }
  // Every shorter message fails its checksum (the checksum covers the whole message).
  for (let n = 8; n < LENGTH; n++) assert.equal(new IcmpView(ECHO, AT, n).check(), 'bad-checksum', `length ${n}`);
  assert.equal(new IcmpView(ECHO.slice(AT, AT + 63), 0, 64).check(), 'truncated');
  const b = ECHO.slice(AT, AT + LENGTH);
  b[20] ^= 0x10;
  assert.equal(new IcmpView(b).check(), 'bad-checksum');
});

/** The kernel's error message in `frames[1]` and what our builder makes of the same inputs. */
function rebuild(frames: Uint8Array[], type: number, code: number, info: number, quote: Uint8Array, quoteOffset: number, quoteLength: number) {
  const kernel = frames[1].subarray(14);
  const outer = new Ipv4View(kernel);
  assert.equal(outer.check(), null);
  const out = filled(700);
  const n = buildIcmpError(out, 5, type, code, info, outer.src, outer.dst, quote, quoteOffset, quoteLength, outer.id, outer.ttl);
  return { kernel: toHex(kernel), ours: toHex(out.subarray(5, 5 + n)), n, outer };
}

// icmp-frag-needed.hex: R (192.0.2.254) answers a 1500-byte DF echo with mtu 1400 towards it.
test('icmp: frag-needed built byte for byte as the kernel built it (576-byte cap)', () => {
  const frames = loadFixture('icmp-frag-needed');
  const r = rebuild(frames, 3, 4, 1400, frames[0], 14, 1500);
  assert.equal(r.n, ICMP_ERROR_MAX_LENGTH);
  assert.equal(r.ours, r.kernel);
  assert.equal(r.outer.tos, 0xc0);
  assert.equal(r.outer.dontFragment, false);
  const icmp = new IcmpView(frames[1], 34, 556);
  assert.equal(icmp.check(), null);
  assert.equal(icmp.type, 3);
  assert.equal(icmp.code, 4);
  assert.equal(icmp.nextHopMtu, 1400);
  assert.equal(icmp.isError, true);
  assert.equal(icmp.payloadLength, 548);
});

// icmp-time-exceeded.hex: `ping -t 1`, R answers with time exceeded quoting the whole 84-byte packet.
test('icmp: time exceeded built byte for byte as the kernel built it', () => {
  const frames = loadFixture('icmp-time-exceeded');
  const r = rebuild(frames, 11, 0, 0, frames[0], 14, 84);
  assert.equal(r.n, 112);
  assert.equal(r.ours, r.kernel);
});

// udp-port-unreachable.hex: B answers a UDP datagram to port 9; R forwarded both, so the error arrives
// with TTL 63 and quotes the datagram as B saw it (TTL 63). We rebuild it from B's point of view.
test('icmp: port unreachable built byte for byte as the kernel built it', () => {
  const frames = loadFixture('udp-port-unreachable');
  const quote = frames[1].subarray(14 + 28);
  const r = rebuild(frames, 3, 3, 0, quote, 0, quote.length);
  assert.equal(r.n, 75);
  assert.equal(r.ours, r.kernel);
});

test('icmp: the error quotes at most 548 bytes, keeps the TOS bits, and may quote from its own buffer', () => {
  const src = parseIpv4Dotted('192.0.2.254')!;
  const dst = parseIpv4Dotted('192.0.2.1')!;
  const big = filled(2000);
  big[1] = 0xff; // quoted TOS: only bits 0x1e survive, precedence 0xc0 is added
  const out = new Uint8Array(600);
  const n = buildIcmpError(out, 0, 3, 1, 0, src, dst, big, 0, 2000, 7);
  assert.equal(n, 576);
  assert.equal(out[1], 0xde);
  assert.equal(internetChecksum(out, 0, 20), 0);
  assert.equal(internetChecksum(out, 20, 556), 0);
  // Quote taken from the same buffer, overlapping where the error goes.
  const shared = new Uint8Array(700);
  const original = ECHO.slice(14, 98);
  shared.set(original, 10);
  const m = buildIcmpError(shared, 0, 11, 0, 0, src, dst, shared, 10, 84, 1);
  assert.equal(m, 112);
  assert.deepEqual(shared.subarray(28, 112), original);
  assert.equal(new IcmpView(shared, 20, 92).check(), null);
  // A quote shorter than claimed is cut to what exists.
  assert.equal(buildIcmpError(out, 0, 11, 0, 0, src, dst, ECHO, 90, 500, 1), 28 + ECHO.length - 90);
});

test('icmp: when Linux would not send an error at all', () => {
  const echo = ECHO.slice(14, 98);
  assert.equal(icmpErrorPermitted(echo, 0, 84), true, 'an echo request may be answered');
  const patch = (f: (v: Ipv4View) => void) => {
    const b = echo.slice();
    const v = new Ipv4View(b);
    f(v);
    v.fillChecksum();
    return icmpErrorPermitted(b, 0, 84);
  };
  assert.equal(patch((v) => (v.bytes[6] = 0x20)), true, 'first fragment');
  assert.equal(patch((v) => (v.bytes[7] = 1)), false, 'non-first fragment');
  assert.equal(patch((v) => (v.src = 0x7f000001)), false, 'loopback source');
  assert.equal(patch((v) => (v.src = 0)), false, 'zeronet source');
  assert.equal(patch((v) => (v.src = 0xe0000001)), false, 'multicast source');
  assert.equal(patch((v) => (v.dst = 0xffffffff)), false, 'broadcast destination');
  assert.equal(patch((v) => (v.dst = 0xe0000001)), false, 'multicast destination');
  for (let type = 0; type < 256; type++) {
    const expected = type <= 18 && !isIcmpErrorType(type);
    assert.equal(patch((v) => (v.bytes[20] = type)), expected, `about ICMP type ${type}`);
  }
  assert.equal(patch((v) => (v.protocol = 17)), true, 'about UDP');
  assert.equal(icmpErrorPermitted(echo, 0, 19), false, 'too short');
  assert.equal(icmpErrorPermitted(echo, 0, 20), false, 'ICMP type not readable');
  assert.equal(icmpErrorPermitted(echo, 70, 84), false, 'range past the buffer');
  // The kernel's own errors (type 3, 11) are never answered.
  assert.equal(icmpErrorPermitted(loadFixture('icmp-frag-needed')[1], 14, 576), false);
});
