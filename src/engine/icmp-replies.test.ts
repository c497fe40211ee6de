import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ip, ipv4Echo } from '../tunnel/test-helpers.js';
import { internetChecksum } from '../wire/checksum.js';
import { buildFragNeeded, buildPortUnreachable } from './icmp-replies.js';

test('port unreachable: from the address the packet went to, ID 0 for the raw socket to fill, no DF', () => {
  const pkt = ipv4Echo('192.168.0.1', '192.168.100.1');
  const out = Buffer.alloc(600);
  const len = buildPortUnreachable(pkt.bytes, pkt.start, pkt.length, out, 0);
  assert.equal(len, 20 + 8 + pkt.length);
  assert.equal(out.readUInt32BE(12), ip('192.168.100.1'));
  assert.equal(out.readUInt32BE(16), ip('192.168.0.1'));
  assert.equal(out.readUInt16BE(4), 0, 'ID: the kernel picks it when the socket sends the packet');
  assert.equal(out.readUInt16BE(6), 0, 'no DF, not a fragment');
  assert.equal(out[1], 0xc0, 'precedence internetwork control, as icmp_send sets it');
  assert.deepEqual([out[20], out[21]], [3, 3]);
  assert.equal(internetChecksum(out, 20, len - 20), 0);
});

test('frag-needed: goes into the device, so it carries an ID of its own and the MTU', () => {
  const pkt = ipv4Echo('10.0.0.1', '10.0.0.2', { payload: 1472 });
  const out = Buffer.alloc(600);
  const len = buildFragNeeded(pkt.bytes, pkt.start, pkt.length, 1480, out, 0);
  assert.ok(len > 28);
  assert.notEqual(out.readUInt16BE(4), 0);
  assert.deepEqual([out[20], out[21]], [3, 4]);
  assert.equal(out.readUInt16BE(26), 1480);
  assert.equal(out.readUInt32BE(12), ip('10.0.0.2'), 'from the packet\'s destination');
});
