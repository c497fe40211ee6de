import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFixture } from '../../test/fixtures/hex.js';
import { parseIpv4Dotted } from './address.js';
import { parseMac } from './ethernet.js';
import { ArpPacket, ArpView, arpLength, emitArp, parseArp, ARP_OP_REPLY, ARP_OP_REQUEST } from './arp.js';

// arp-request-reply.hex: `ping 192.0.2.254` from 192.0.2.1 with an empty neighbour table; ARP at 14.
const [REQUEST, REPLY] = loadFixture('arp-request-reply');
const AT = 14;
const A_MAC = parseMac('02:00:00:00:0a:01')!;
const R_MAC = parseMac('02:00:00:00:0a:fe')!;
const A_IP = parseIpv4Dotted('192.0.2.1')!;
const R_IP = parseIpv4Dotted('192.0.2.254')!;

const REQUEST_RECORD: ArpPacket = { operation: ARP_OP_REQUEST, senderMac: A_MAC, senderIp: A_IP, targetMac: new Uint8Array(6), targetIp: R_IP };
const REPLY_RECORD: ArpPacket = { operation: ARP_OP_REPLY, senderMac: R_MAC, senderIp: R_IP, targetMac: A_MAC, targetIp: A_IP };

function filled(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}

test('arp: deconstruct the captured request and reply', () => {
  const view = new ArpView(REQUEST, AT, 28);
  assert.equal(view.check(), null);
  assert.equal(view.hardwareType, 1);
  assert.equal(view.protocolType, 0x0800);
  assert.equal(view.hardwareLength, 6);
  assert.equal(view.protocolLength, 4);
  assert.equal(view.operation, ARP_OP_REQUEST);
  assert.deepEqual(REQUEST.subarray(view.senderMacOffset, view.senderMacOffset + 6), A_MAC);
  assert.equal(view.senderIp, A_IP);
  assert.deepEqual(REQUEST.subarray(view.targetMacOffset, view.targetMacOffset + 6), new Uint8Array(6));
  assert.equal(view.targetIp, R_IP);
  view.reset(REPLY, AT, 28);
  assert.equal(view.check(), null);
  assert.equal(view.operation, ARP_OP_REPLY);
  assert.equal(view.senderIp, R_IP);
});

test('arp: construct into a 0xa5 buffer', () => {
  // No setters: the hot path has none to need; emit writes all 28 bytes from numbers and MACs.
  const out = filled(30);
  emitArp(REQUEST_RECORD, out, 1);
  assert.deepEqual(out.subarray(1, 29), REQUEST.subarray(AT, AT + 28));
  assert.equal(out[0], 0xa5);
  assert.equal(out[29], 0xa5);
});

test('arp: parse to the record', () => {
  assert.deepEqual(parseArp(new ArpView(REQUEST, AT, 28)), REQUEST_RECORD);
  assert.deepEqual(parseArp(new ArpView(REPLY, AT, 28)), REPLY_RECORD);
});

test('arp: emit the record', () => {
  const out = filled(28);
  assert.equal(arpLength(REPLY_RECORD), 28);
  assert.equal(emitArp(REPLY_RECORD, out, 0), 28);
  assert.deepEqual(out, REPLY.subarray(AT, AT + 28));
});

test('arp: truncation and unsupported formats', () => {
  for (let n = 0; n < 28; n++) {
    assert.equal(new ArpView(REQUEST, AT, n).check(), 'truncated', `length ${n}`);
    assert.equal(parseArp(new ArpView(REQUEST.slice(AT, AT + n))), 'truncated');
  }
  // Padding after the 28 bytes (the kernel's 42-byte frame has none; Ethernet minimum frames do).
  const padded = new Uint8Array(46);
  padded.set(REQUEST.subarray(AT, AT + 28));
  assert.equal(new ArpView(padded).check(), null);
  const cases: [string, number, number, string][] = [
    ['IEEE 802 hardware type', 1, 6, 'unsupported'],
    ['protocol 0x08dd', 3, 0xdd, 'unsupported'],
    ['4-byte hardware addresses', 4, 4, 'unsupported'],
    ['8-byte hardware addresses: 32 bytes needed', 4, 8, 'truncated'],
    ['16-byte protocol addresses: 52 bytes needed', 5, 16, 'truncated'],
  ];
  for (const [what, at, value, reason] of cases) {
    const b = REQUEST.slice(AT, AT + 28);
    b[at] = value;
    assert.equal(new ArpView(b).check(), reason, what);
  }
});
