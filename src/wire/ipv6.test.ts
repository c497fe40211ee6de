import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPacket } from '../../test/fixtures/hex.js';
import { parseIpv6 } from './address.js';
import {
  emitIpv6Header,
  ipv6DecrementHopLimitUnchecked,
  ipv6FlowLabelUnchecked,
  ipv6HeaderLength,
  ipv6HopLimitUnchecked,
  ipv6NextHeaderUnchecked,
  ipv6PayloadLengthUnchecked,
  ipv6SetEcnCeUnchecked,
  ipv6SetEct1Unchecked,
  ipv6TrafficClassUnchecked,
  Ipv6Header,
  Ipv6View,
  parseIpv6Header,
  writeIpv6Header,
} from './ipv6.js';

// ipv6-icmpv6-echo.hex: `ping -6 -c1 -s 56 2001:db8:2::2` from 2001:db8:1::1, captured on the veth
// (tcpdump: IP6 (flowlabel 0x31908, hlim 64, next-header ICMPv6 (58) payload length: 64)).
const ECHO = loadPacket('ipv6-icmpv6-echo');
const AT = 14;
const HEADER = ECHO.slice(AT, AT + 40);
const SRC = parseIpv6('2001:db8:1::1')!;
const DST = parseIpv6('2001:db8:2::2')!;

const RECORD: Ipv6Header = {
  trafficClass: 0,
  flowLabel: 0x31908,
  payloadLength: 64,
  nextHeader: 58,
  hopLimit: 64,
  src: SRC,
  dst: DST,
};

function filled(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}

test('ipv6: deconstruct a captured echo request', () => {
  const view = new Ipv6View(ECHO, AT);
  assert.equal(view.check(), null);
  assert.equal(view.version, 6);
  assert.equal(view.trafficClass, 0);
  assert.equal(view.dscp, 0);
  assert.equal(view.ecn, 0);
  assert.equal(view.flowLabel, 0x31908);
  assert.equal(view.payloadLength, 64);
  assert.equal(view.nextHeader, 58);
  assert.equal(view.hopLimit, 64);
  assert.deepEqual(view.src, SRC);
  assert.deepEqual(view.dst, DST);
  assert.equal(view.srcOffset, AT + 8);
  assert.equal(view.dstOffset, AT + 24);
  assert.equal(view.payloadOffset, AT + 40);
});

test('ipv6: construct into a 0xa5 buffer with setters', () => {
  const bytes = filled(40);
  const view = new Ipv6View(bytes);
  view.trafficClass = 0;
  view.flowLabel = 0x31908;
  view.payloadLength = 64;
  view.nextHeader = 58;
  view.hopLimit = 64;
  bytes.set(SRC, view.srcOffset);
  bytes.set(DST, view.dstOffset);
  assert.deepEqual(bytes, HEADER);
  // Setting one of traffic class / flow label leaves the other alone.
  view.trafficClass = 0xb9;
  assert.equal(view.flowLabel, 0x31908);
  assert.equal(view.trafficClass, 0xb9);
  assert.equal(view.ecn, 1);
  assert.equal(view.dscp, 0x2e);
  view.flowLabel = 0xfffff;
  assert.equal(view.trafficClass, 0xb9);
  assert.equal(view.flowLabel, 0xfffff);
  assert.equal(view.version, 6);
});

test('ipv6: parse to the record', () => {
  assert.deepEqual(parseIpv6Header(new Ipv6View(ECHO, AT)), RECORD);
});

test('ipv6: emit the record into a 0xa5 buffer', () => {
  const bytes = filled(44);
  assert.equal(ipv6HeaderLength(RECORD), 40);
  assert.equal(emitIpv6Header(RECORD, bytes, 2), 40);
  assert.deepEqual(bytes.subarray(2, 42), HEADER);
  assert.equal(bytes[1], 0xa5);
  assert.equal(bytes[42], 0xa5);
});

test('ipv6: every prefix of the packet is truncated', () => {
  for (let n = 0; n < 104; n++) {
    assert.equal(new Ipv6View(ECHO, AT, n).check(), 'truncated', `length ${n}`);
    assert.equal(parseIpv6Header(new Ipv6View(ECHO.slice(AT, AT + n))), 'truncated');
  }
  assert.equal(new Ipv6View(ECHO, AT, 104).check(), null);
  assert.equal(new Ipv6View(ECHO.slice(AT, AT + 103), 0, 104).check(), 'truncated');
});

test('ipv6: malformations', () => {
  const b = ECHO.slice(AT);
  b[0] = 0x40 | (b[0] & 0x0f);
  assert.equal(new Ipv6View(b).check(), 'bad-version');
  const jumbo = filled(40);
  emitIpv6Header({ ...RECORD, payloadLength: 0, nextHeader: 0 }, jumbo, 0);
  assert.equal(new Ipv6View(jumbo).check(), 'bad-payload-length');
  // An empty payload with another next header is fine (for example No Next Header).
  emitIpv6Header({ ...RECORD, payloadLength: 0, nextHeader: 59 }, jumbo, 0);
  assert.equal(new Ipv6View(jumbo).check(), null);
});

test('ipv6: hot-path readers and writers', () => {
  const b = ECHO;
  assert.equal(ipv6TrafficClassUnchecked(b, AT), 0);
  assert.equal(ipv6FlowLabelUnchecked(b, AT), 0x31908);
  assert.equal(ipv6PayloadLengthUnchecked(b, AT), 64);
  assert.equal(ipv6NextHeaderUnchecked(b, AT), 58);
  assert.equal(ipv6HopLimitUnchecked(b, AT), 64);
  // Addresses copied from inside another packet, at offsets.
  const out = filled(41);
  writeIpv6Header(out, 1, 0, 0x31908, 64, 58, 64, ECHO, AT + 8, ECHO, AT + 24);
  assert.deepEqual(out.subarray(1), HEADER);
  const copy = HEADER.slice();
  assert.equal(ipv6DecrementHopLimitUnchecked(copy, 0), 63);
  assert.equal(copy[7], 63);
  copy[7] = 0;
  assert.equal(ipv6DecrementHopLimitUnchecked(copy, 0), 0);
});

test('ipv6: ECN CE marking touches only the ECN bits, and never Not-ECT', () => {
  for (let tc = 0; tc < 256; tc++) {
    const b = HEADER.slice();
    const view = new Ipv6View(b);
    view.trafficClass = tc;
    const marked = ipv6SetEcnCeUnchecked(b, 0);
    assert.equal(marked, (tc & 3) !== 0);
    assert.equal(view.trafficClass, (tc & 3) === 0 ? tc : tc | 3);
    assert.equal(view.flowLabel, 0x31908);
    assert.equal(view.version, 6);
  }
});

test('ipv6: ECT(0) becomes ECT(1), touching only the ECN bits', () => {
  for (let tc = 0; tc < 256; tc++) {
    const b = HEADER.slice();
    const view = new Ipv6View(b);
    view.trafficClass = tc;
    assert.equal(ipv6SetEct1Unchecked(b, 0), (tc & 3) === 2);
    assert.equal(view.trafficClass, (tc & 3) === 2 ? (tc & ~3) | 1 : tc);
    assert.equal(view.flowLabel, 0x31908);
    assert.equal(view.version, 6);
  }
});
