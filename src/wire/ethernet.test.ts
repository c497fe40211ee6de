import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFixture } from '../../test/fixtures/hex.js';
import {
  emitEthernet,
  ethernetHeaderLength,
  EthernetHeader,
  EthernetView,
  formatMac,
  isBroadcastMac,
  isMulticastMac,
  isValidUnicastMac,
  isZeroMac,
  macEqual,
  parseEthernet,
  parseMac,
  writeEthernetHeader,
} from './ethernet.js';

// arp-request-reply.hex: the kernel's ARP request from a0 (02:00:00:00:0a:01) to broadcast, and the reply.
const [REQUEST, REPLY] = loadFixture('arp-request-reply');
const A = parseMac('02:00:00:00:0a:01')!;
const R = parseMac('02:00:00:00:0a:fe')!;
const BROADCAST = parseMac('ff:ff:ff:ff:ff:ff')!;
const RECORD: EthernetHeader = { dst: BROADCAST, src: A, etherType: 0x0806 };

function filled(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}

test('ethernet: deconstruct a captured frame', () => {
  const view = new EthernetView(REQUEST);
  assert.equal(view.check(), null);
  assert.deepEqual(view.dst, BROADCAST);
  assert.deepEqual(view.src, A);
  assert.equal(view.dstOffset, 0);
  assert.equal(view.srcOffset, 6);
  assert.equal(view.etherType, 0x0806);
  assert.equal(view.payloadOffset, 14);
  assert.equal(view.payloadLength, REQUEST.length - 14);
  const reply = new EthernetView(REPLY);
  assert.equal(reply.check(), null);
  assert.deepEqual(reply.src, R);
  assert.deepEqual(reply.dst, A);
});

test('ethernet: construct into a 0xa5 buffer', () => {
  const out = filled(16);
  writeEthernetHeader(out, 1, REQUEST, 0, A, 0, 0x0806);
  assert.deepEqual(out.subarray(1, 15), REQUEST.subarray(0, 14));
  assert.equal(out[0], 0xa5);
  assert.equal(out[15], 0xa5);
});

test('ethernet: parse to the record', () => {
  assert.deepEqual(parseEthernet(new EthernetView(REQUEST)), RECORD);
});

test('ethernet: emit the record', () => {
  const out = filled(14);
  assert.equal(ethernetHeaderLength(RECORD), 14);
  assert.equal(emitEthernet(RECORD, out, 0), 14);
  assert.deepEqual(out, REQUEST.subarray(0, 14));
});

test('ethernet: truncation', () => {
  for (let n = 0; n < 14; n++) {
    assert.equal(new EthernetView(REQUEST, 0, n).check(), 'truncated');
    assert.equal(parseEthernet(new EthernetView(REQUEST.slice(0, n))), 'truncated');
  }
  assert.equal(new EthernetView(REQUEST.slice(0, 13), 0, 14).check(), 'truncated');
  assert.equal(new EthernetView(REQUEST, 0, 14).check(), null);
});

test('ethernet: MAC text and classes', () => {
  assert.equal(formatMac(A), '02:00:00:00:0a:01');
  assert.equal(formatMac(REQUEST, 6), '02:00:00:00:0a:01');
  assert.deepEqual(parseMac('2:0:0:0:A:1'), A);
  for (const bad of ['', '02:00:00:00:0a', '02:00:00:00:0a:01:02', '002:00:00:00:0a:01', '02-00-00-00-0a-01', 'g2:00:00:00:0a:01', '02:00:00:00:0a:']) {
    assert.equal(parseMac(bad), null, bad);
  }
  assert.equal(isBroadcastMac(BROADCAST), true);
  assert.equal(isMulticastMac(BROADCAST), true);
  assert.equal(isMulticastMac(parseMac('01:00:5e:00:00:01')!), true);
  assert.equal(isMulticastMac(A), false);
  assert.equal(isZeroMac(new Uint8Array(6)), true);
  assert.equal(isValidUnicastMac(A), true);
  assert.equal(isValidUnicastMac(new Uint8Array(6)), false);
  assert.equal(isValidUnicastMac(BROADCAST), false);
  assert.equal(macEqual(A, REQUEST, 0, 6), true);
  assert.equal(macEqual(A, R), false);
});
