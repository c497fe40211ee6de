import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureComments, loadFixture, loadPacket } from '../../test/fixtures/hex.js';
import { internetChecksum } from './checksum.js';
import { parseIpv4Dotted } from './address.js';
import {
  emitIpv4Header,
  ipv4DecrementTtlUnchecked,
  ipv4DfUnchecked,
  ipv4DstUnchecked,
  ipv4HeaderLength,
  ipv4HeaderLengthUnchecked,
  ipv4ProtocolUnchecked,
  ipv4SetEcnCeUnchecked,
  ipv4SetEct1Unchecked,
  ipv4SetTosUnchecked,
  ipv4SrcUnchecked,
  ipv4TosUnchecked,
  ipv4TotalLengthUnchecked,
  ipv4TtlUnchecked,
  ipVersionUnchecked,
  Ipv4Header,
  Ipv4View,
  parseIpv4Header,
  writeIpv4Header,
} from './ipv4.js';

// ipv4-icmp-echo.hex: `ping -c1 -s 56 198.51.100.2` from 192.0.2.1, captured on the kernel's veth
// (tcpdump: IP (tos 0x0, ttl 64, id 22604, offset 0, flags [DF], proto ICMP (1), length 84)).
// The IPv4 header starts after the 14-byte Ethernet header.
const ECHO = loadPacket('ipv4-icmp-echo');
const ECHO_AT = 14;
const ECHO_HEADER = ECHO.slice(ECHO_AT, ECHO_AT + 20);
const A = parseIpv4Dotted('192.0.2.1')!;
const B = parseIpv4Dotted('198.51.100.2')!;

const ECHO_RECORD: Ipv4Header = {
  tos: 0,
  totalLength: 84,
  id: 22604,
  dontFragment: true,
  moreFragments: false,
  fragmentOffset: 0,
  ttl: 64,
  protocol: 1,
  src: A,
  dst: B,
  options: new Uint8Array(0),
};

function filled(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}

test('ipv4: deconstruct a captured echo request', () => {
  const view = new Ipv4View(ECHO, ECHO_AT);
  assert.equal(view.check(), null);
  assert.equal(view.version, 4);
  assert.equal(view.headerLength, 20);
  assert.equal(view.tos, 0);
  assert.equal(view.dscp, 0);
  assert.equal(view.ecn, 0);
  assert.equal(view.totalLength, 84);
  assert.equal(view.id, 22604);
  assert.equal(view.reservedFlag, false);
  assert.equal(view.dontFragment, true);
  assert.equal(view.moreFragments, false);
  assert.equal(view.fragmentOffset, 0);
  assert.equal(view.isFragment, false);
  assert.equal(view.ttl, 64);
  assert.equal(view.protocol, 1);
  assert.equal(view.checksum, 0xf625);
  assert.equal(view.src, A);
  assert.equal(view.dst, B);
  assert.equal(view.optionsLength, 0);
  assert.equal(view.payloadOffset, ECHO_AT + 20);
  assert.equal(view.payloadLength, 64);
});

test('ipv4: construct into a 0xa5 buffer with setters gives the captured bytes', () => {
  const bytes = filled(20);
  bytes[0] = 0x45; // version and IHL have no setter: they are what the view is
  const view = new Ipv4View(bytes);
  view.tos = 0;
  view.totalLength = 84;
  view.id = 22604;
  bytes[6] = 0x40;
  bytes[7] = 0;
  view.ttl = 64;
  view.protocol = 1;
  view.src = A;
  view.dst = B;
  view.fillChecksum();
  assert.deepEqual(bytes, ECHO_HEADER);
});

test('ipv4: parse a captured echo request to its record', () => {
  assert.deepEqual(parseIpv4Header(new Ipv4View(ECHO, ECHO_AT)), ECHO_RECORD);
});

test('ipv4: emit the record into a 0xa5 buffer', () => {
  const bytes = filled(24);
  assert.equal(ipv4HeaderLength(ECHO_RECORD), 20);
  assert.equal(emitIpv4Header(ECHO_RECORD, bytes, 2), 20);
  assert.deepEqual(bytes.subarray(2, 22), ECHO_HEADER);
  assert.equal(bytes[1], 0xa5);
  assert.equal(bytes[22], 0xa5);
});

// ipv4-options-rr.hex: `ping -R`, the kernel adds NOP + Record Route (39 bytes) for a 60-byte header.
test('ipv4: options, deconstructed, parsed and emitted again', () => {
  const frame = loadPacket('ipv4-options-rr');
  const view = new Ipv4View(frame, 14);
  assert.equal(view.check(), null);
  assert.equal(view.headerLength, 60);
  assert.equal(view.optionsOffset, 34);
  assert.equal(view.optionsLength, 40);
  assert.equal(view.totalLength, 124);
  assert.equal(view.payloadLength, 64);
  assert.equal(frame[view.optionsOffset], 0x01); // NOP
  assert.equal(frame[view.optionsOffset + 1], 0x07); // RR
  const record = parseIpv4Header(view);
  assert.ok(typeof record !== 'string');
  assert.equal(record.options.length, 40);
  assert.equal(record.options[1], 7);
  assert.equal(record.options[2], 39);
  const bytes = filled(60);
  assert.equal(emitIpv4Header(record, bytes, 0), 60);
  assert.deepEqual(bytes, frame.subarray(14, 74));
});

test('ipv4: options not a multiple of 4 are padded with zeros; over 40 bytes is a caller bug', () => {
  const record = { ...ECHO_RECORD, options: Uint8Array.of(1, 1, 1) };
  assert.equal(ipv4HeaderLength(record), 24);
  const bytes = filled(24);
  assert.equal(emitIpv4Header(record, bytes, 0), 24);
  assert.deepEqual(bytes.subarray(20), Uint8Array.of(1, 1, 1, 0));
  assert.equal(new Ipv4View(bytes, 0, 24).headerLength, 24);
  assert.equal(internetChecksum(bytes, 0, 24), 0);
  assert.throws(() => emitIpv4Header({ ...ECHO_RECORD, options: new Uint8Array(41) }, filled(64), 0), RangeError);
});

// ipv4-fragments.hex: `ping -s 2000` over a 1500-byte MTU: the kernel's two fragments.
test('ipv4: fragments', () => {
  const [first, second] = loadFixture('ipv4-fragments');
  const v1 = new Ipv4View(first, 14);
  assert.equal(v1.check(), null);
  assert.equal(v1.moreFragments, true);
  assert.equal(v1.dontFragment, false);
  assert.equal(v1.fragmentOffset, 0);
  assert.equal(v1.isFragment, true);
  assert.equal(v1.totalLength, 1500);
  const v2 = new Ipv4View(second, 14);
  assert.equal(v2.check(), null);
  assert.equal(v2.moreFragments, false);
  assert.equal(v2.fragmentOffset, 1480);
  assert.equal(v2.isFragment, true);
  assert.equal(v2.id, v1.id);
  const record = parseIpv4Header(v2);
  assert.ok(typeof record !== 'string');
  const bytes = filled(20);
  emitIpv4Header(record, bytes, 0);
  assert.deepEqual(bytes, second.subarray(14, 34));
});

test('ipv4: every IPv4 header in the captured fixtures matches the tcpdump line beside it', () => {
  const names = ['ipv4-icmp-echo', 'ipv4-options-rr', 'ipv4-fragments', 'icmp-frag-needed', 'icmp-time-exceeded', 'udp-port-unreachable', 'vxlan-arp-icmp'];
  let seen = 0;
  for (const name of names) {
    const lines = tcpdumpIpLines(name);
    const frames = loadFixture(name);
    assert.equal(lines.length, frames.length, name);
    for (let i = 0; i < frames.length; i++) {
      const view = new Ipv4View(frames[i], 14);
      assert.equal(view.check(), null, name);
      const m = lines[i];
      assert.equal(view.tos, parseInt(m.tos, 16), `${name} tos`);
      assert.equal(view.ttl, Number(m.ttl), `${name} ttl`);
      assert.equal(view.id, Number(m.id), `${name} id`);
      assert.equal(view.fragmentOffset, Number(m.offset), `${name} offset`);
      const flags = (view.dontFragment ? 'DF' : '') + (view.moreFragments ? '+' : '');
      assert.equal(flags === '' ? 'none' : flags, m.flags, `${name} flags`);
      assert.equal(view.protocol, Number(m.proto), `${name} proto`);
      assert.equal(view.totalLength, Number(m.length), `${name} length`);
      seen++;
    }
  }
  assert.equal(seen, 14);
});

/** The outer `IP (tos .., ttl .., id .., offset .., flags [..], proto X (n), length ..)` line of each packet. */
function tcpdumpIpLines(name: string): Record<string, string>[] {
  const text = fixtureComments(name);
  const out: Record<string, string>[] = [];
  const re = /^# \d\d:\d\d:\d\d\.\d+ IP \(tos (0x[0-9a-f]+), ttl (\d+), id (\d+), offset (\d+), flags \[([^\]]+)\], proto \w+ \((\d+)\), length (\d+)/;
  for (const line of text) {
    const m = re.exec(line);
    if (m) out.push({ tos: m[1], ttl: m[2], id: m[3], offset: m[4], flags: m[5], proto: m[6], length: m[7] });
  }
  return out;
}

test('ipv4: every truncation of the header, and every prefix of the packet, is truncated', () => {
  for (let n = 0; n < 84; n++) {
    const view = new Ipv4View(ECHO, ECHO_AT, n);
    assert.equal(view.check(), 'truncated', `length ${n}`);
    assert.equal(parseIpv4Header(view), 'truncated');
    // The same through a buffer that really ends there.
    assert.equal(new Ipv4View(ECHO.slice(ECHO_AT, ECHO_AT + n)).check(), 'truncated', `buffer ${n}`);
  }
  assert.equal(new Ipv4View(ECHO, ECHO_AT, 84).check(), null);
  // A view claiming more bytes than the buffer has is truncated, not read past the end.
  assert.equal(new Ipv4View(ECHO.slice(ECHO_AT, ECHO_AT + 83), 0, 84).check(), 'truncated');
  // Trailing bytes past the total length (Ethernet padding) are fine.
  const padded = new Uint8Array(100);
  padded.set(ECHO.subarray(ECHO_AT, ECHO_AT + 84));
  const view = new Ipv4View(padded);
  assert.equal(view.check(), null);
  assert.equal(view.payloadLength, 64);
});

test('ipv4: malformations, each with its reason', () => {
  const base = ECHO.slice(ECHO_AT, ECHO_AT + 84);
  const cases: [string, (b: Uint8Array) => void, string][] = [
    ['version 6', (b) => (b[0] = 0x65), 'bad-version'],
    ['version 0', (b) => (b[0] = 0x05), 'bad-version'],
    ['IHL 4', (b) => (b[0] = 0x44), 'bad-header-length'],
    ['IHL 0', (b) => (b[0] = 0x40), 'bad-header-length'],
    ['IHL 15: the header now takes in payload bytes', (b) => (b[0] = 0x4f), 'bad-checksum'],
    ['checksum off by one', (b) => (b[11] ^= 1), 'bad-checksum'],
    ['ttl changed without checksum', (b) => (b[8] = 63), 'bad-checksum'],
  ];
  for (const [what, mutate, reason] of cases) {
    const b = base.slice();
    mutate(b);
    assert.equal(new Ipv4View(b).check(), reason, what);
  }
  // Total-length problems with a valid checksum.
  const shortTotal = base.slice();
  new Ipv4View(shortTotal).totalLength = 19;
  new Ipv4View(shortTotal).fillChecksum();
  assert.equal(new Ipv4View(shortTotal).check(), 'bad-total-length');
  const longTotal = base.slice();
  new Ipv4View(longTotal).totalLength = 85;
  new Ipv4View(longTotal).fillChecksum();
  assert.equal(new Ipv4View(longTotal).check(), 'truncated');
  // IHL larger than what is there.
  const bigIhl = base.slice(0, 40);
  bigIhl[0] = 0x4f;
  assert.equal(new Ipv4View(bigIhl).check(), 'truncated');
});

test('ipv4: reset reuses one view across packets', () => {
  const view = new Ipv4View();
  assert.equal(view.check(), 'truncated');
  const [first, second] = loadFixture('ipv4-fragments');
  assert.equal(view.reset(first, 14).check(), null);
  assert.equal(view.fragmentOffset, 0);
  assert.equal(view.reset(second, 14).check(), null);
  assert.equal(view.fragmentOffset, 1480);
  assert.equal(view.reset(first, 14, 10).check(), 'truncated');
});

test('ipv4: writeIpv4Header writes the same bytes as emitIpv4Header', () => {
  const bytes = filled(22);
  writeIpv4Header(bytes, 1, 0, 84, 22604, true, 64, 1, A, B);
  assert.deepEqual(bytes.subarray(1, 21), ECHO_HEADER);
  for (const [tos, len, id, df, ttl, proto, src, dst] of [
    [0xff, 0xffff, 0xffff, true, 255, 255, 0xffffffff, 0xffffffff],
    [0, 20, 0, false, 0, 0, 0, 0],
    [0xb8, 1500, 0x1234, false, 1, 47, 0x0a000001, 0xc0a80101],
  ] as const) {
    const fast = filled(20);
    writeIpv4Header(fast, 0, tos, len, id, df, ttl, proto, src, dst);
    const slow = filled(20);
    emitIpv4Header(
      { tos, totalLength: len, id, dontFragment: df, moreFragments: false, fragmentOffset: 0, ttl, protocol: proto, src, dst, options: new Uint8Array(0) },
      slow,
      0,
    );
    assert.deepEqual(fast, slow);
    assert.equal(internetChecksum(fast, 0, 20), 0);
  }
});

test('ipv4: Unchecked readers', () => {
  const b = ECHO;
  const o = ECHO_AT;
  assert.equal(ipVersionUnchecked(b, o), 4);
  assert.equal(ipv4HeaderLengthUnchecked(b, o), 20);
  assert.equal(ipv4TosUnchecked(b, o), 0);
  assert.equal(ipv4TotalLengthUnchecked(b, o), 84);
  assert.equal(ipv4DfUnchecked(b, o), true);
  assert.equal(ipv4TtlUnchecked(b, o), 64);
  assert.equal(ipv4ProtocolUnchecked(b, o), 1);
  assert.equal(ipv4SrcUnchecked(b, o), A);
  assert.equal(ipv4DstUnchecked(b, o), B);
});

test('ipv4: TTL decrement patches the checksum as a full recomputation would', () => {
  for (let ttl = 0; ttl <= 255; ttl++) {
    const b = ECHO_HEADER.slice();
    const view = new Ipv4View(b);
    view.ttl = ttl;
    view.fillChecksum();
    const next = ipv4DecrementTtlUnchecked(b, 0);
    assert.equal(next, ttl === 0 ? 0 : ttl - 1);
    assert.equal(b[8], next);
    assert.equal(internetChecksum(b, 0, 20), 0, `ttl ${ttl}`);
    const recomputed = b.slice();
    new Ipv4View(recomputed).fillChecksum();
    assert.deepEqual(b, recomputed, `ttl ${ttl}`);
  }
});

test('ipv4: ECN CE marking and ECT(0) to ECT(1) (RFC 6040) and TOS rewrite keep the checksum right', () => {
  for (let tos = 0; tos < 256; tos++) {
    const b = ECHO_HEADER.slice();
    const view = new Ipv4View(b);
    view.tos = tos;
    view.fillChecksum();
    const ect1 = b.slice();
    assert.equal(ipv4SetEct1Unchecked(ect1, 0), (tos & 3) === 2);
    assert.equal(ect1[1], (tos & 3) === 2 ? (tos & ~3) | 1 : tos);
    assert.equal(internetChecksum(ect1, 0, 20), 0);
    const marked = ipv4SetEcnCeUnchecked(b, 0);
    assert.equal(marked, (tos & 3) !== 0);
    assert.equal(b[1], (tos & 3) === 0 ? tos : tos | 3);
    assert.equal(internetChecksum(b, 0, 20), 0);
    ipv4SetTosUnchecked(b, 0, 255 - tos);
    assert.equal(b[1], 255 - tos);
    assert.equal(internetChecksum(b, 0, 20), 0);
  }
});
