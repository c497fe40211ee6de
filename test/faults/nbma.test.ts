/**
 * Fault group A and B for NBMA tunnels (`remote any`; reliability.md S14): on the transmit side,
 * packets with no next hop (written straight into the device, as a packet socket does: no route chose
 * them, and the kernel drops such packets for having no dst) and IPv6 routes whose next hop holds no
 * IPv4 address; on the receive side, 6rd packets whose inner source or destination embeds another IPv4
 * address than the outer one, and ISATAP packets from outside the potential router list whose inner
 * source is no ISATAP address of theirs.
 *
 * The lab is the classic one (A and B across router R), with the tunnels each scenario makes itself;
 * R injects what B receives. The devices get no automatic IPv6 address (addrgenmode none) and no
 * router solicitations, so that only the scenario's own packets go through them.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { Lab } from '../../src/lab/netns.js';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { parseIpv6 } from '../../src/wire/address.js';
import { writeIpv6Header } from '../../src/wire/ipv6.js';
import { classicLab, inject, ping } from '../integration/tunnel-lab.js';
import { burrowOut, dropDelta, fillTxLedger, linkStats, readCounters, scenario, sendFrames, settledCounters, sleep, tunnelDelta, txPoint, type ScenarioContext } from './harness.js';
import { A, A_ADDR, A_UNDERLAY, B, B_UNDERLAY, echo, outer, settled } from './lab.js';

const skip = labUnavailableReason() ?? undefined;

const v6 = (text: string): Uint8Array => parseIpv6(text)!;

/** An IPv6 packet with no payload (next header 59), so that whoever takes it answers nothing. */
function bare6(src: string, dst: string): Uint8Array {
  const p = new Uint8Array(40);
  writeIpv6Header(p, 0, 0, 0, 0, 59, 64, v6(src), 0, v6(dst), 0);
  return p;
}

/** `burrow tunnel add NAME ...` in `ns`, up, IPv6 on but quiet, with `addresses` (v4 or v6, `nodad`). */
async function quietTunnel(lab: Lab, ns: string, name: string, args: string[], addresses: string[]): Promise<void> {
  await burrowOut(lab, ns, ['tunnel', 'add', name, ...args]);
  await lab.ip(ns, ['link', 'set', name, 'addrgenmode', 'none']);
  await lab.run(ns, ['sysctl', '-qw', `net.ipv6.conf.${name}.router_solicitations=0`, `net.ipv6.conf.${name}.accept_ra=0`]);
  await lab.ip(ns, ['link', 'set', name, 'up']);
  for (const a of addresses) await lab.ip(ns, a.includes(':') ? ['-6', 'addr', 'add', a, 'dev', name, 'nodad'] : ['addr', 'add', a, 'dev', name]);
}

/** Waits until the kernel stops sending into `dev` on its own (MLD reports after an address was added). */
async function quiet(lab: Lab, ns: string, dev: string): Promise<void> {
  let last = -1;
  for (let i = 0; i < 40; i++) {
    const now = (await linkStats(lab, ns, dev)).tx.packets;
    if (now === last) return;
    last = now;
    await sleep(i < 3 ? 300 : 1000);
  }
}

/** Transmit on `dev` of A while `traffic` runs: sent = what went into the device; returns delivered and drops. */
async function txLedger(s: ScenarioContext, lab: Lab, dev: string, traffic: () => Promise<unknown>): Promise<Record<string, number>> {
  await quiet(lab, A, dev);
  const before = await txPoint(lab, A, dev);
  await traffic();
  await settledCounters(lab, A);
  const after = await txPoint(lab, A, dev);
  const ledger = fillTxLedger(s.ledger(`${dev} transmit on A`), dev, before, after);
  ledger.reconcile();
  return { delivered: ledger.delivered, ...tunnelDelta(before.counters, after.counters, dev).drops };
}

/** Sends `packets` from R to B and reconciles them against B's counters; returns B's drops and deliveries. */
async function intoB(s: ScenarioContext, lab: Lab, what: string, packets: Uint8Array[]): Promise<Record<string, number>> {
  const b0 = await readCounters(lab, B);
  const sent = inject(lab, 'r', packets);
  await sleep(200);
  const b1 = await settledCounters(lab, B);
  const ledger = s.ledger(what);
  ledger.sent = sent;
  for (const name of b1.tunnels.keys()) ledger.delivered += tunnelDelta(b0, b1, name).rx.packets;
  ledger.explainAll(dropDelta(b0, b1));
  ledger.reconcile();
  return { ...dropDelta(b0, b1), delivered: ledger.delivered };
}

describe('faults: NBMA tunnels (remote any), 6rd, ISATAP', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await classicLab();
    // Warm up: A's daemon opens its sending socket with its first packet, for good.
    await quietTunnel(lab, A, 'w0', ['mode', 'ipip', 'remote', B_UNDERLAY, 'local', A_UNDERLAY], ['10.200.0.1/30']);
    await ping(lab, A, '10.200.0.2', ['-c', '1', '-W', '1']);
    await burrowOut(lab, A, ['tunnel', 'del', 'w0']);
    await burrowOut(lab, B, ['daemon', 'start']);
    await settled(lab);
  });
  after(() => lab?.destroy());

  scenario('B', 'remote any: no route gives a next hop (ipip, gre), an IPv6 next hop without IPv4 in it (gre, sit); the rest goes', () => lab, { watch: [A] }, async (s) => {
    const N = 5;
    const made: string[] = [];
    try {
      for (const [name, mode, subnet] of [['nb0', 'ipip', 7], ['ng0', 'gre', 8], ['ns0', 'sit', 6]] as const) {
        const v4 = mode === 'sit' ? [] : [`10.${subnet}.0.1/24`];
        const v6 = mode === 'ipip' ? [] : [`2001:db8:${subnet}::1/64`];
        await quietTunnel(lab, A, name, ['mode', mode, 'remote', 'any', 'local', A_UNDERLAY, 'ttl', '64'], [...v4, ...v6]);
        made.push(name);
        // An IPv6 route through the device to a neighbour that is no ::a.b.c.d, 6to4/6rd or ISATAP address.
        if (mode !== 'ipip') await lab.ip(A, ['-6', 'route', 'add', `2001:db8:9${subnet}::/64`, 'via', 'fe80::1', 'dev', name]);
      }
      await lab.ip(A, ['route', 'add', '10.9.0.0/24', 'via', B_UNDERLAY, 'dev', 'nb0', 'onlink']);
      // The way out that works: an IPv4-compatible neighbour, B's address (B has no sit: its kernel takes it).
      await lab.ip(A, ['-6', 'route', 'add', '2001:db8:a6::/64', 'via', `::${B_UNDERLAY}`, 'dev', 'ns0']);
      // Written into the device, routed by nothing: 10.99.0.0/24 is no route through the tunnels.
      const unrouted = Array.from({ length: N }, (_, i) => echo(i, 0x0a070001, 0x0a630001 + i));
      const ping6 = (dst: string, from: string) => ping(lab, A, dst, ['-6', '-c', String(N), '-i', '0.05', '-W', '1', '-I', from]);

      const ipip = await txLedger(s, lab, 'nb0', async () => {
        assert.equal(sendFrames(lab, A, 'nb0', unrouted), N);
        // On-link through the tunnel: the next hop is the inner destination, whose outer route is the
        // tunnel itself (DeadLoop, as in the kernel); through B as the gateway the packets go.
        await ping(lab, A, '10.7.0.2', ['-c', String(N), '-i', '0.05', '-W', '1']);
        await ping(lab, A, '10.9.0.1', ['-c', String(N), '-i', '0.05', '-W', '1']);
      });
      assert.deepEqual(ipip, { delivered: N, 'nbma-no-destination': N, 'dead-loop': N });

      const gre = await txLedger(s, lab, 'ng0', async () => {
        assert.equal(sendFrames(lab, A, 'ng0', unrouted), N);
        await ping6('2001:db8:98::1', '2001:db8:8::1');
      });
      assert.deepEqual(gre, { delivered: 0, 'nbma-no-destination': N, 'nbma-no-ipv4-neighbour': N });

      const sit = await txLedger(s, lab, 'ns0', async () => {
        await ping6('2001:db8:96::1', '2001:db8:6::1');
        await ping6('2001:db8:a6::1', '2001:db8:6::1');
      });
      assert.deepEqual(sit, { delivered: N, 'nbma-no-ipv4-neighbour': N });
    } finally {
      for (const name of made) await burrowOut(lab, A, ['tunnel', 'del', name]);
    }
  });

  scenario('A', '6rd: inner sources and destinations that embed another IPv4 address than the outer ones are dropped, as sit.c does', () => lab, { watch: [B] }, async (s) => {
    // 2001:db8::/32 with no relay prefix: the next 32 bits are the site's IPv4 address, so A's prefix is
    // 2001:db8:c0a8:1::/64 and B's 2001:db8:c0a8:6401::/64.
    await quietTunnel(lab, B, 'sr0', ['mode', 'sit', 'remote', 'any', 'local', B_UNDERLAY, 'ttl', '64'], ['2001:db8:c0a8:6401::1/64']);
    try {
      await burrowOut(lab, B, ['tunnel', '6rd', 'dev', 'sr0', '6rd-prefix', '2001:db8::/32']);
      const N = 10;
      const packets: Uint8Array[] = [];
      const expected: Record<string, number> = {};
      const add = (reason: string, src: string, dst: string): void => {
        for (let i = 0; i < N; i++) packets.push(outer(41, bare6(src, dst)));
        expected[reason] = (expected[reason] ?? 0) + N;
      };
      add('delivered', '2001:db8:c0a8:1::1', '2001:db8:c0a8:6401::1');
      add('delivered', '2001:db9:7::1', '2001:db8:c0a8:6401::1'); // outside the 6rd prefix: not checked
      add('sixrd-source-spoofed', '2001:db8:c0a8:63::1', '2001:db8:c0a8:6401::1'); // embeds 192.168.0.99, sent by A
      add('sixrd-destination-spoofed', '2001:db8:c0a8:1::1', '2001:db8:a00:1::1'); // embeds 10.0.0.1, not B
      s.badInputs(2 * N);
      assert.deepEqual(await intoB(s, lab, '6rd into B', packets), expected);
    } finally {
      await burrowOut(lab, B, ['tunnel', 'del', 'sr0']);
    }
  });

  scenario('A', 'ISATAP: from outside the potential router list, inner sources that are no on-link ISATAP address of the sender are dropped', () => lab, { watch: [B] }, async (s) => {
    await quietTunnel(lab, B, 'is0', ['mode', 'isatap', 'local', B_UNDERLAY], ['2001:db8:1::5efe:c0a8:6401/64']);
    try {
      const router = 0xc0a800fa; // 192.168.0.250, in the PRL
      await burrowOut(lab, B, ['tunnel', 'prl', 'prl-default', '192.168.0.250', 'dev', 'is0']);
      const N = 10;
      const packets: Uint8Array[] = [];
      const expected: Record<string, number> = {};
      const add = (reason: string, src: string, from = A_ADDR): void => {
        for (let i = 0; i < N; i++) packets.push(outer(41, bare6(src, '2001:db8:1::5efe:c0a8:6401'), { src: from }));
        expected[reason] = (expected[reason] ?? 0) + N;
      };
      add('delivered', '2001:db8:1::5efe:c0a8:1'); // A's own ISATAP address on B's link
      add('delivered', '2001:db8:77::1', router); // a router may forward anything
      add('isatap-source-spoofed', '2001:db8:77::1'); // not an ISATAP address
      add('isatap-source-spoofed', '2001:db8:1::5efe:c0a8:63'); // embeds 192.168.0.99, sent by A
      add('isatap-source-spoofed', '2001:db8:2::5efe:c0a8:1'); // A's, but not on a prefix of the device
      s.badInputs(3 * N);
      assert.deepEqual(await intoB(s, lab, 'ISATAP into B', packets), expected);
    } finally {
      await burrowOut(lab, B, ['tunnel', 'del', 'is0']);
    }
  });
});
