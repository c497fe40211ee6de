/**
 * Fault group A and B for vxlan (reliability.md section 6, S21): VXLAN headers the kernel's vxlan_rcv
 * refuses (truncated, I flag clear, reserved bits, an unknown VNI), inner frames that must not be taken
 * or learned (too short, from the device's own MAC, from a multicast or zero MAC, from a MAC a static
 * FDB entry puts elsewhere), a frame for a device that is down, and frames to send with no FDB entry.
 *
 * The lab is the vxlan interop one (test/integration/vxlan-lab.ts): the kernel's vxlan on K1 and
 * burrow's on B, VNI 100 on port 4789; K1 also injects the bad datagrams from its own address, while a
 * ping from K1's kernel vxlan flows as good traffic.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { Lab } from '../../src/lab/netns.js';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { B, burrowOk, deleteVxlan, inject, K1, ping, towards, UNDERLAY, udpTo, vxlan, vxlanHeader, vxlanLab } from '../integration/vxlan-lab.js';
import { dropDelta, fillTxLedger, linkStats, macOf, readCounters, scenario, settledCounters, sleep, tunnelDelta, txPoint, type ScenarioContext } from './harness.js';

const skip = labUnavailableReason() ?? undefined;

/** An Ethernet frame `to` <- `from` of `etherType` with `payload` zero bytes. */
function frame(to: Uint8Array, from: Uint8Array, payload = 46, etherType = 0x88b5): Buffer {
  return Buffer.concat([to, from, Buffer.of(etherType >> 8, etherType & 0xff), Buffer.alloc(payload)]);
}

const mac = (text: string): Uint8Array => Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
const BROADCAST = mac('ff:ff:ff:ff:ff:ff');

/**
 * Injects `bad` from K1 while K1's kernel vxlan pings B through vx0; returns B's drops by reason and
 * the bad frames delivered. sent = injected + what K1's vx0 sent (all of it goes to B, its one remote).
 */
async function underPing(s: ScenarioContext, lab: Lab, what: string, bad: Uint8Array[]): Promise<Record<string, number>> {
  const k0 = await linkStats(lab, K1, 'vx0');
  const b0 = await readCounters(lab, B);
  const pinging = ping(lab, K1, '10.50.0.2', ['-c', '20', '-i', '0.02']);
  let sent = 0;
  for (let i = 0; i < bad.length; i += 20) {
    sent += inject(lab, K1, bad.slice(i, i + 20));
    await sleep(2);
  }
  const pinged = await pinging;
  s.badInputs(sent);
  const b1 = await settledCounters(lab, B);
  const k1 = await linkStats(lab, K1, 'vx0');
  const good = k1.tx.packets - k0.tx.packets;
  const ledger = s.ledger(what);
  ledger.sent = sent + good;
  for (const name of b1.tunnels.keys()) ledger.delivered += tunnelDelta(b0, b1, name).rx.packets;
  ledger.explainAll(dropDelta(b0, b1));
  ledger.reconcile();
  assert.equal(pinged.received, pinged.transmitted, pinged.output);
  return { ...dropDelta(b0, b1), delivered: ledger.delivered - good };
}

describe('faults: vxlan', { skip, concurrency: false }, () => {
  let lab: Lab;
  let own: Uint8Array;
  before(async () => {
    lab = await vxlanLab();
    await vxlan(lab, K1, towards(K1, B));
    await vxlan(lab, B, towards(B, K1));
    own = await macOf(lab, B, 'vx0');
    // Warm up: B learns K1, and its daemon opens its sending socket.
    await ping(lab, K1, '10.50.0.2', ['-c', '1']);
  });
  after(() => lab?.destroy());

  scenario('A', 'vxlan: truncated, I flag clear, reserved bits, unknown VNI, short inner frames, a device that is down; a ping flows', () => lab, { watch: [B] }, async (s) => {
    // vx1 (VNI 200) shares the port but is down: what comes for it cannot be written (rx-device-error).
    await burrowOk(lab, B, ['link', 'add', 'vx1', 'type', 'vxlan', 'id', '200', 'remote', UNDERLAY[K1], 'local', UNDERLAY[B], 'dev', 'eth0', 'dstport', '4789']);
    try {
      const N = 20;
      const expected: Record<string, number> = {};
      const bad: Uint8Array[] = [];
      const add = (reason: string, make: (i: number) => Uint8Array): void => {
        for (let i = 0; i < N; i++) bad.push(udpTo(make(i)));
        expected[reason] = (expected[reason] ?? 0) + N;
      };
      const good = (i: number): Buffer => frame(BROADCAST, mac(`02:00:00:00:01:${(i % 200).toString(16).padStart(2, '0')}`));
      add('vxlan-truncated', (i) => new Uint8Array(i % 8));
      add('vxlan-bad-flags', (i) => Buffer.concat([vxlanHeader(100, i % 2 === 0 ? 0x00 : 0x80), good(i)]));
      add('vxlan-reserved-bits', (i) => {
        const h = vxlanHeader(100, 0x08 | (1 << (i % 3)));
        if (i % 4 === 3) h[1 + (i % 3)] = 1; // a reserved byte instead
        if (i % 5 === 4) h[7] = 0xff;
        return Buffer.concat([h, good(i)]);
      });
      add('vxlan-unknown-vni', (i) => Buffer.concat([vxlanHeader(4242 + i), good(i)]));
      add('inner-truncated', (i) => Buffer.concat([vxlanHeader(100), Buffer.alloc(i % 14)]));
      add('rx-device-error', (i) => Buffer.concat([vxlanHeader(200), good(i)]));
      const got = await underPing(s, lab, 'bad VXLAN into B', bad);
      assert.deepEqual(got, { ...expected, delivered: 0 }, 'each under its own reason');
    } finally {
      await deleteVxlan(lab, B, 'vx1');
    }
  });

  scenario('A', 'vxlan: inner frames from the device\'s own MAC, a multicast or zero MAC, a MAC a static entry puts elsewhere; a ping flows', () => lab, { watch: [B] }, async (s) => {
    const pinned = mac('02:00:00:00:02:55');
    await burrowOk(lab, B, ['fdb', 'add', '02:00:00:00:02:55', 'dev', 'vx0', 'dst', '192.168.50.3', 'static']);
    try {
      const N = 20;
      const bad: Uint8Array[] = [];
      const expected: Record<string, number> = {};
      const add = (reason: string, from: (i: number) => Uint8Array): void => {
        for (let i = 0; i < N; i++) bad.push(udpTo(Buffer.concat([vxlanHeader(100), frame(BROADCAST, from(i))])));
        expected[reason] = N;
      };
      add('own-mac', () => own);
      add('bad-source-mac', (i) => (i % 2 === 0 ? mac(`01:00:5e:00:00:${i.toString(16).padStart(2, '0')}`) : new Uint8Array(6)));
      add('fdb-static-conflict', () => pinned); // from K1's address; the static entry says K2
      add('delivered', (i) => mac(`02:00:00:00:03:${i.toString(16).padStart(2, '0')}`));
      const got = await underPing(s, lab, 'inner frames into B', bad);
      assert.deepEqual(got, expected, 'each under its own reason, the good ones delivered');
      const fdb = await burrowOk(lab, B, ['fdb', 'show', 'dev', 'vx0']);
      assert.match(fdb, /^02:00:00:00:02:55 dst 192\.168\.50\.3 self static$/m, 'the static entry did not move');
      assert.doesNotMatch(fdb, /^(01:00:5e|00:00:00:00:00:00 dst 192\.168\.50\.1 self$)/m, 'nothing learned from them');
    } finally {
      await burrowOk(lab, B, ['fdb', 'del', '02:00:00:00:02:55', 'dev', 'vx0']);
    }
  });

  scenario('B', 'vxlan: frames to send with no FDB entry and no default entry: no-fdb-entry, nothing sent', () => lab, { watch: [B] }, async (s) => {
    // vx2 has no remote, so no default entry: nothing it sends has anywhere to go.
    await burrowOk(lab, B, ['link', 'add', 'vx2', 'type', 'vxlan', 'id', '300', 'local', UNDERLAY[B], 'dev', 'eth0', 'dstport', '4789']);
    try {
      await lab.ip(B, ['link', 'set', 'vx2', 'up']);
      await lab.ip(B, ['addr', 'add', '10.52.0.2/24', 'dev', 'vx2']);
      // A neighbour entry, so that the kernel sends exactly the echo requests (no ARP).
      await lab.ip(B, ['neigh', 'add', '10.52.0.9', 'lladdr', '02:00:00:00:04:09', 'dev', 'vx2', 'nud', 'permanent']);
      const before = await txPoint(lab, B, 'vx2');
      const r = await ping(lab, B, '10.52.0.9', ['-c', '5', '-i', '0.05']);
      await settledCounters(lab, B);
      const after = await txPoint(lab, B, 'vx2');
      const ledger = fillTxLedger(s.ledger('vx2 transmit on B'), 'vx2', before, after);
      ledger.reconcile();
      assert.equal(r.received, 0);
      assert.deepEqual([ledger.sent, ledger.delivered, tunnelDelta(before.counters, after.counters, 'vx2').drops], [5, 0, { 'no-fdb-entry': 5 }]);
    } finally {
      await deleteVxlan(lab, B, 'vx2');
    }
  });
});
