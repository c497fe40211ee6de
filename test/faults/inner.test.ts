/**
 * Fault group B (reliability.md section 6): inner packets from the tunnel device on A.
 *
 * The transmit ledger is exact because the kernel counts, on the TUN device, every packet it routed in
 * and burrow read (its TX counter) or its queue dropped; burrow's tx_packets and transmit drop reasons
 * must add up to it. What then happens on the wire is checked on B (rx) or on the router's counters.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { Lab } from '../../src/lab/netns.js';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { writeIpv4Header } from '../../src/wire/ipv4.js';
import { inNetns } from '../../src/io/native/index.js';
import { PacketBatch } from '../../src/io/port.js';
import { RawIpv4Socket } from '../../src/io/raw-socket.js';
import { ping } from '../integration/tunnel-lab.js';
import {
  counterDelta,
  dropDelta,
  fillTxLedger,
  kernelCounters,
  linkStats,
  readCounters,
  scenario,
  sendFrames,
  settledCounters,
  sleep,
  tunnelDelta,
  txPoint,
  until,
} from './harness.js';
import { A, B, faultLab, pair, R } from './lab.js';

const skip = labUnavailableReason() ?? undefined;

/** Sends ICMP echo requests with a chosen TTL from a raw socket in A (the kernel routes them). */
function echoFromA(lab: Lab, dst: number, ttl: number, count: number): number {
  return inNetns(`/run/netns/${lab.nsName(A)}`, () => {
    const socket = RawIpv4Socket.open({ protocol: 255 });
    try {
      const batch = new PacketBatch(count, 128, 0);
      for (let i = 0; i < count; i++) {
        const at = batch.slotStart(i);
        const p = batch.data.subarray(at, at + 84);
        writeIpv4Header(p, 0, 0, 84, 0x4000 + i, false, ttl, 1, 0, dst);
        p.fill(0, 20);
        p[20] = 8;
        p[25] = i;
        const sum = internetChecksum(p, 20, 64);
        p[22] = sum >> 8;
        p[23] = sum;
        batch.push(at, 84, dst);
      }
      return socket.writeBatch(batch);
    } finally {
      socket.close();
    }
  });
}

describe('faults B: inner packets', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await faultLab(false);
    // vpn1: ipip with the kernel's defaults for TTL (inherit) and without DF (nopmtudisc), 10.1.0.0/24.
    await pair(lab, 'vpn1', ['mode', 'ipip', 'nopmtudisc'], 1);
  });
  after(() => lab?.destroy());

  scenario('B', 'over the path MTU with DF: too-big, frag-needed back to the sender, nothing sent', () => lab, { watch: [A, B] }, async (s) => {
    await lab.ip(A, ['link', 'set', 'vpn0', 'mtu', '1500']);
    try {
      const t0 = await txPoint(lab, A, 'vpn0');
      const r = await ping(lab, A, '10.0.0.2', ['-c', '3', '-M', 'do', '-s', '1472']);
      const t1 = await txPoint(lab, A, 'vpn0');
      const ledger = fillTxLedger(s.ledger('A vpn0 transmit'), 'vpn0', t0, t1);
      ledger.reconcile();
      assert.equal(r.received, 0);
      // gre key csum: 20 + 12 bytes of headers on a 1500-byte path.
      assert.match(r.output, /mtu ?= ?1468/, r.output);
      assert.ok((ledger.explained['too-big'] ?? 0) >= 1);
    } finally {
      await lab.ip(A, ['link', 'set', 'vpn0', 'mtu', '1468']);
      await lab.ip(A, ['route', 'flush', 'cache']);
    }
  });

  scenario('B', 'over the path MTU without DF on a nopmtudisc tunnel: fragmented outside, reassembled by B, answered', () => lab, { watch: [A, B] }, async (s) => {
    await lab.ip(A, ['link', 'set', 'vpn1', 'mtu', '1500']);
    await lab.ip(B, ['link', 'set', 'vpn1', 'mtu', '1500']);
    try {
      const t0 = await txPoint(lab, A, 'vpn1');
      const b0 = await readCounters(lab, B);
      const r = await ping(lab, A, '10.1.0.2', ['-c', '5', '-M', 'dont', '-s', '1472']);
      const t1 = await txPoint(lab, A, 'vpn1');
      const b1 = await settledCounters(lab, B);
      const ledger = fillTxLedger(s.ledger('A vpn1 transmit'), 'vpn1', t0, t1);
      ledger.reconcile();
      assert.equal(r.received, 5, r.output);
      const wire = s.ledger('A vpn1 to B vpn1');
      wire.sent = tunnelDelta(t0.counters, t1.counters, 'vpn1').tx.packets;
      wire.delivered = tunnelDelta(b0, b1, 'vpn1').rx.packets;
      wire.explainAll(dropDelta(b0, b1));
      wire.reconcile();
    } finally {
      await lab.ip(A, ['link', 'set', 'vpn1', 'mtu', '1480']);
      await lab.ip(B, ['link', 'set', 'vpn1', 'mtu', '1480']);
    }
  });

  scenario('B', 'inner TTL 1 and 0: a fixed outer TTL carries them, an inherited one dies at the router (counted there)', () => lab, { watch: [A, B] }, async (s) => {
    const r0 = await kernelCounters(lab, R);
    const a0 = await txPoint(lab, A, 'vpn1');
    const b0 = await readCounters(lab, B);
    const ttl1 = await ping(lab, A, '10.1.0.2', ['-c', '3', '-t', '1']);
    const zero = echoFromA(lab, 0x0a010002, 0, 3);
    await sleep(300);
    const a1 = await txPoint(lab, A, 'vpn1');
    const b1 = await settledCounters(lab, B);
    const r1 = await kernelCounters(lab, R);
    assert.equal(ttl1.received, 0);
    assert.equal(zero, 3);
    fillTxLedger(s.ledger('A vpn1 transmit'), 'vpn1', a0, a1).reconcile();
    const wire = s.ledger('vpn1 (ttl inherit) across R');
    wire.sent = tunnelDelta(a0.counters, a1.counters, 'vpn1').tx.packets;
    wire.delivered = tunnelDelta(b0, b1, 'vpn1').rx.packets;
    wire.explain('kernel:R Ip.InHdrErrors (TTL exceeded)', counterDelta(r0, r1, 'Ip.InHdrErrors'));
    wire.reconcile();
    // The same through vpn0 (ttl 64): delivered to B, whose stack takes them (local delivery).
    const v0 = await txPoint(lab, A, 'vpn0');
    const c0 = await readCounters(lab, B);
    const ok1 = await ping(lab, A, '10.0.0.2', ['-c', '3', '-t', '1']);
    echoFromA(lab, 0x0a000002, 0, 3);
    await sleep(300);
    const v1 = await txPoint(lab, A, 'vpn0');
    const c1 = await settledCounters(lab, B);
    assert.equal(ok1.received, 3, ok1.output);
    fillTxLedger(s.ledger('A vpn0 transmit'), 'vpn0', v0, v1).reconcile();
    const fixed = s.ledger('vpn0 (ttl 64) across R');
    fixed.sent = tunnelDelta(v0.counters, v1.counters, 'vpn0').tx.packets;
    fixed.delivered = tunnelDelta(c0, c1, 'vpn0').rx.packets;
    fixed.explainAll(dropDelta(c0, c1));
    fixed.reconcile();
  });

  scenario('B', 'a route to the remote through the tunnel itself: DeadLoop, nothing leaves, traffic back once it goes', () => lab, { watch: [A, B] }, async (s) => {
    await lab.ip(A, ['route', 'add', '192.168.100.1/32', 'dev', 'vpn0']);
    let removed = false;
    try {
      await sleep(300); // the route event reaches the daemon
      const t0 = await txPoint(lab, A, 'vpn0');
      const eth0 = await linkStats(lab, A, 'eth0');
      const r = await ping(lab, A, '10.0.0.2', ['-c', '20', '-i', '0.01', '-W', '0.2']);
      const t1 = await txPoint(lab, A, 'vpn0');
      const eth1 = await linkStats(lab, A, 'eth0');
      const ledger = fillTxLedger(s.ledger('A vpn0 transmit'), 'vpn0', t0, t1);
      ledger.reconcile();
      assert.equal(r.received, 0);
      assert.equal(ledger.explained['dead-loop'], ledger.sent, 'every packet counted as DeadLoop');
      assert.ok(eth1.tx.bytes - eth0.tx.bytes < 1000, `bounded: ${eth1.tx.bytes - eth0.tx.bytes} bytes left A`);
      await lab.ip(A, ['route', 'del', '192.168.100.1/32', 'dev', 'vpn0']);
      removed = true;
      const since = Date.now();
      const back = await until(async () => (await ping(lab, A, '10.0.0.2', ['-c', '1', '-W', '0.5'])).received === 1, 10_000, 0);
      assert.ok(back >= 0, 'traffic flows again');
      s.recovered(Date.now() - since);
    } finally {
      if (!removed) await lab.ip(A, ['route', 'del', '192.168.100.1/32', 'dev', 'vpn0']);
    }
  });

  scenario('B', 'two tunnels routed into each other (mutual encapsulation): the loop ends, bounded and counted', () => lab, { watch: [A] }, async (s) => {
    // lp1's remote is reached through lp2 and lp2's through lp1; nopmtudisc, so nothing stops the
    // growing packets but burrow's nesting limit (the kernel's is its transmit recursion limit).
    for (const [name, remote] of [['lp1', '198.51.100.1'], ['lp2', '198.51.100.2']]) {
      await lab.burrow(A, ['tunnel', 'add', name, 'mode', 'ipip', 'remote', remote, 'local', '192.168.0.1', 'nopmtudisc']);
      await lab.ip(A, ['link', 'set', name, 'up']);
    }
    try {
      await lab.ip(A, ['addr', 'add', '10.9.0.1/24', 'dev', 'lp1']);
      await lab.ip(A, ['route', 'add', '198.51.100.1/32', 'dev', 'lp2']);
      await lab.ip(A, ['route', 'add', '198.51.100.2/32', 'dev', 'lp1']);
      await sleep(300);
      const p0 = [await txPoint(lab, A, 'lp1'), await txPoint(lab, A, 'lp2')];
      await ping(lab, A, '10.9.0.2', ['-c', '3', '-i', '0.2', '-W', '0.2', '-s', '1000', '-M', 'dont']);
      // The loop must end by itself: the counters stop moving.
      let last = -1;
      const quiet = await until(async () => {
        const n = (await linkStats(lab, A, 'lp1')).tx.packets + (await linkStats(lab, A, 'lp2')).tx.packets;
        const still = n === last;
        last = n;
        return still;
      }, 10_000, 300);
      assert.ok(quiet >= 0, 'the loop did not end');
      const p1 = [await txPoint(lab, A, 'lp1'), await txPoint(lab, A, 'lp2')];
      const l1 = fillTxLedger(s.ledger('A lp1 transmit'), 'lp1', p0[0], p1[0]);
      const l2 = fillTxLedger(s.ledger('A lp2 transmit'), 'lp2', p0[1], p1[1]);
      l1.reconcile();
      l2.reconcile();
      const packets = l1.sent + l2.sent;
      const bytes = (p1[0].device.tx.bytes - p0[0].device.tx.bytes) + (p1[1].device.tx.bytes - p0[1].device.tx.bytes);
      console.log(`  mutual loop: 3 pings became ${packets} packets, ${bytes} bytes through the two devices`);
      assert.ok(bytes < 3 * 70_000, `bounded: ${bytes} bytes for 3 pings`);
    } finally {
      await lab.burrow(A, ['tunnel', 'del', 'lp1']);
      await lab.burrow(A, ['tunnel', 'del', 'lp2']);
    }
  });

  scenario('B', 'IPv6 on an ipip tunnel: refused and counted as a transmit error', () => lab, { watch: [A] }, async (s) => {
    await lab.run(A, ['sysctl', '-qw', 'net.ipv6.conf.vpn1.disable_ipv6=0']);
    await lab.ip(A, ['-6', 'addr', 'add', '2001:db8:99::1/64', 'dev', 'vpn1', 'nodad']);
    try {
      const t0 = await txPoint(lab, A, 'vpn1');
      const r = await ping(lab, A, '2001:db8:99::2', ['-6', '-c', '5', '-i', '0.05', '-W', '0.2']);
      const t1 = await txPoint(lab, A, 'vpn1');
      assert.equal(r.received, 0);
      const ledger = fillTxLedger(s.ledger('A vpn1 transmit'), 'vpn1', t0, t1);
      ledger.reconcile();
      assert.ok((ledger.explained['tx-wrong-protocol'] ?? 0) >= 5);
    } finally {
      await lab.run(A, ['sysctl', '-qw', 'net.ipv6.conf.vpn1.disable_ipv6=1']);
    }
  });

  scenario('B', 'non-IP and truncated bytes written into the device: tx-malformed', () => lab, { watch: [A] }, async (s) => {
    const junk = [
      Uint8Array.of(0x00, 1, 2, 3),
      Uint8Array.of(0xff, ...new Uint8Array(60)),
      Uint8Array.of(0x45, ...new Uint8Array(10)), // IPv4, shorter than its header
      Uint8Array.of(0x60, ...new Uint8Array(30)), // IPv6, shorter than its header
      Uint8Array.of(0x15, ...new Uint8Array(40)),
    ];
    const packets = Array.from({ length: 10 }, () => junk).flat();
    const t0 = await txPoint(lab, A, 'vpn0');
    const sent = sendFrames(lab, A, 'vpn0', packets);
    s.badInputs(sent);
    await sleep(300);
    const t1 = await txPoint(lab, A, 'vpn0');
    const ledger = fillTxLedger(s.ledger('A vpn0 transmit'), 'vpn0', t0, t1);
    ledger.reconcile();
    assert.ok((ledger.explained['tx-malformed'] ?? 0) >= sent, JSON.stringify(ledger.explained));
  });

  scenario('B', 'afterwards the tunnels still carry traffic both ways', () => lab, { watch: [A, B] }, async () => {
    assert.equal((await ping(lab, A, '10.0.0.2', ['-c', '3'])).received, 3);
    assert.equal((await ping(lab, A, '10.1.0.2', ['-c', '3'])).received, 3);
  });
});
