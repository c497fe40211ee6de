/**
 * Inputs the fuzz properties found wrong, with their bytes, so that each stays fixed whatever the
 * generators do later. Each names the property that found it and the rule it broke.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internetChecksum } from '../../src/wire/checksum.js';
import { decapsulate } from '../../src/tunnel/ip-tunnel.js';
import { newDecapResult, newEncapResult } from '../../src/tunnel/mode.js';
import { TunnelTable } from '../../src/tunnel/table.js';
import { EngineRig } from './engine-rig.js';
import { ENCAPSULATE, place, RECEIVE, receiverParams, senderParams, upTunnel, type Settings } from './tunnel-gen.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

test('RFC 6040 table (tunnel.test.ts 7): an ECT(0) inner under an ECT(1) outer leaves as ECT(1), checksum patched', () => {
  // ipip from 192.0.2.1 to 198.51.100.1, outer TOS 0x01 (ECT(1)); inner UDP 10.0.0.1 -> 10.0.0.2, TOS 0x2a
  // (AF11 + ECT(0)). burrow delivered it unchanged, as Linux did before 5.8.
  const outer = hex(`
    4501 0034 0000 4000 4004 4e8f c000 0201 c633 6401
    452a 0020 0000 4000 1111 55a1 0a00 0001 0a00 0002 0707 0707 0707 0707 0707 0707`);
  assert.equal(internetChecksum(outer, 0, 20), 0);
  assert.equal(internetChecksum(outer, 20, 20), 0);
  const table = new TunnelTable();
  table.add(upTunnel(receiverParams({ mode: 'ipip', okey: null, ocsum: false, oseq: false, ttl: 64, tos: 0, pmtudisc: true })));
  const { bytes, start, length } = place(outer);
  const out = newDecapResult();
  assert.equal(decapsulate(RECEIVE.ipip, table, bytes, start, length, 0, out), null);
  assert.equal(bytes[out.start + 1], 0x29, 'AF11 + ECT(1)');
  assert.equal(internetChecksum(bytes, out.start, 20), 0);
});

test('encapsulate totality (tunnel.test.ts 6): IPv6 over a path below 1280 + overhead is dropped as too-big, no PTB', async () => {
  // gre oseq, pmtudisc, outer route MTU 68: 40 bytes left for the inner packet, a 41-byte IPv6 packet.
  // burrow sent it with DF, bigger than the path: lost beyond any counter.
  const s: Settings = { mode: 'gre', okey: null, ocsum: false, oseq: true, ttl: 0, tos: 1, pmtudisc: true };
  const inner = hex('6000 0000 0001 0000' + '00'.repeat(33));
  const t = upTunnel(senderParams(s), 68);
  const { bytes, start, length } = place(inner);
  const out = newEncapResult();
  assert.equal(ENCAPSULATE.gre(t, bytes, start, length, out), 'too-big');
  assert.equal(out.mtu, 40);
  // Through the engine: counted, and no Packet Too Big (IPv6 has no MTU below 1280 to report).
  const rig = new EngineRig();
  try {
    const device = rig.add(senderParams(s), true, 68);
    rig.send(device, [inner]);
    await rig.settle();
    assert.equal(device.tunnel.drops.get('too-big'), 1);
    assert.equal(device.tunnel.stats.txErrors, 1);
    assert.deepEqual(rig.delivered(device), []);
    assert.deepEqual(rig.sent(0), []);
  } finally {
    rig.close();
  }
});

test('engine transmit (known gap): an outer packet over the route MTU without DF leaves in fragments, not EMSGSIZE', async () => {
  // gre key 5 csum, nopmtudisc, ttl inherit; a 1500-byte UDP packet without DF; a 1500-byte link. The
  // raw socket refused the 1532-byte outer packet (tx-send-failed); the kernel's gre fragments it.
  const s: Settings = { mode: 'gre', okey: 5, ocsum: true, oseq: false, ttl: 0, tos: 0, pmtudisc: false };
  const inner = new Uint8Array(1500);
  inner.set(hex('4500 05dc 0007 0000 4011 0000 0a00 0001 0a00 0002'));
  const rig = new EngineRig(1500);
  try {
    const device = rig.add(senderParams(s), true, 1500);
    rig.send(device, [inner]);
    await rig.settle();
    const wire = rig.sent(0);
    assert.deepEqual(wire.map((p) => p.length), [1500, 52]);
    assert.deepEqual(wire.map((p) => p.readUInt16BE(6)), [0x2000, 1480 / 8], 'MF then offset 1480');
    assert.equal(wire[0].readUInt16BE(4), wire[1].readUInt16BE(4), 'one ID for both');
    assert.notEqual(wire[0].readUInt16BE(4), 0, 'an ID the kernel will not replace');
    assert.deepEqual([device.tunnel.stats.txPackets, device.tunnel.stats.txBytes, device.tunnel.stats.txErrors], [1, 1500, 0]);
  } finally {
    rig.close();
  }
});
