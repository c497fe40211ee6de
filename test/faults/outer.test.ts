/**
 * Fault group A (reliability.md section 6): outer packets on the wire, injected by router R at B while
 * good traffic flows from A.
 *
 * What the kernel does first: a raw socket sees only IPv4 headers that ip_rcv accepted (version 4, IHL
 * at least 5, checksum right, total length within the frame, trimmed to it) and sources that are not
 * martian, so those malformations never reach burrow; the suite sends them below IP and checks that
 * the kernel's counters, not burrow's, account for them. Everything else reaches burrow and is
 * delivered or dropped under the reason burrow's own decapsulate (run on a mirror of B's table)
 * predicts, reason by reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import fc from 'fast-check';
import type { Lab } from '../../src/lab/netns.js';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { writeGreHeader } from '../../src/wire/gre.js';
import { writeIpv4Header } from '../../src/wire/ipv4.js';
import { inject, ping } from '../integration/tunnel-lab.js';
import { outerInput, PROTOCOL, type CarriedMode } from '../fuzz/tunnel-gen.js';
import {
  counterDelta,
  dropDelta,
  kernelCounters,
  linkStats,
  macOf,
  martianSources,
  rawDrops,
  readCounters,
  scenario,
  sendFrames,
  settledCounters,
  sleep,
  tunnelDelta,
  type Counters,
} from './harness.js';
import { A, A_ADDR, B, B_ADDR, B_EXTRA, echo, faultLab, kernelShaped, mirror, outer, R, R_ADDR, VPN0 } from './lab.js';
import { FAULT_SEED } from './report.js';

const skip = labUnavailableReason() ?? undefined;

/** Sum of rx_packets over B's tunnels between two reads. */
function delivered(before: Counters, after: Counters): number {
  let n = 0;
  for (const name of after.tunnels.keys()) n += tunnelDelta(before, after, name).rx.packets;
  return n;
}

/** The same ipip-wrapped `depth` times, from A to B. */
function nested(inner: Uint8Array, depth: number): Uint8Array {
  let p = inner;
  for (let i = 0; i < depth; i++) p = outer(4, p);
  return p;
}

describe('faults A: outer packets', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await faultLab();
  });
  after(() => lab?.destroy());

  scenario('A', 'headers the kernel refuses (IHL < 5, bad checksum, short, truncated, version 6) never reach burrow', () => lab, { watch: [B] }, async (s) => {
    const dst = await macOf(lab, B, 'eth0');
    const src = await macOf(lab, R, 'eth1');
    const good = outer(47, Uint8Array.of(0x20, 0, 8, 0, 0, 0, 0, 7, ...echo(1)));
    const bad: { what: string; packet: Uint8Array }[] = [];
    for (let ihl = 0; ihl < 5; ihl++) {
      const p = good.slice();
      p[0] = 0x40 | ihl;
      bad.push({ what: `ihl ${ihl}`, packet: p });
    }
    const checksum = good.slice();
    checksum[10] ^= 0x01;
    bad.push({ what: 'bad checksum', packet: checksum });
    const version = good.slice();
    version[0] = 0x65;
    bad.push({ what: 'version 6', packet: version });
    bad.push({ what: '19 bytes', packet: good.slice(0, 19) });
    bad.push({ what: 'total length past the frame', packet: good.slice(0, good.length - 10) });
    const short = good.slice();
    short[2] = 0;
    short[3] = 16; // total length below the header length (checksum redone)
    short[10] = short[11] = 0;
    const sum = internetChecksum(short, 0, 20);
    short[10] = sum >> 8;
    short[11] = sum;
    bad.push({ what: 'total length below IHL', packet: short });
    const packets = Array.from({ length: 20 }, () => bad.map((b) => b.packet)).flat();
    const k0 = await kernelCounters(lab, B);
    const link0 = await linkStats(lab, B, 'eth0');
    const c0 = await readCounters(lab, B);
    const sent = sendFrames(lab, R, 'eth1', packets, dst, src);
    s.badInputs(sent);
    await sleep(300);
    const k1 = await kernelCounters(lab, B);
    const link1 = await linkStats(lab, B, 'eth0');
    const c1 = await settledCounters(lab, B);
    const ledger = s.ledger('malformed IPv4 headers');
    ledger.sent = sent;
    ledger.delivered = delivered(c0, c1);
    ledger.explainAll(dropDelta(c0, c1));
    ledger.explain('kernel:Ip.InHdrErrors', counterDelta(k0, k1, 'Ip.InHdrErrors'));
    ledger.explain('kernel:IpExt.InTruncatedPkts', counterDelta(k0, k1, 'IpExt.InTruncatedPkts'));
    assert.ok(link1.rx.packets - link0.rx.packets >= sent, 'they all arrived at B');
    assert.deepEqual(dropDelta(c0, c1), {}, 'burrow saw none of them');
    assert.equal(counterDelta(k0, k1, 'IpExt.InCsumErrors'), 20, 'the checksum ones are counted as such too');
    ledger.reconcile();
  });

  scenario('A', 'martian sources (multicast, broadcast, 0.0.0.0, 127/8) and B\'s own address never reach burrow; 0/8 does', () => lab, { watch: [B] }, async (s) => {
    const dst = await macOf(lab, B, 'eth0');
    const src = await macOf(lab, R, 'eth1');
    const send = (source: number): number => sendFrames(lab, R, 'eth1', Array.from({ length: 10 }, () => outer(4, echo(2), { src: source })), dst, src);
    const c0 = await readCounters(lab, B);
    const ledger = s.ledger('martian and local sources');
    // ip_route_input_slow: multicast, limited broadcast, 0.0.0.0 and loopback sources are martians.
    const m0 = martianSources();
    let martians = 0;
    for (const source of [0xe0000005, 0xffffffff, 0x00000000, 0x7f000001]) martians += send(source);
    await sleep(200);
    const counted = martianSources() - m0;
    // in_martian_src is one counter for the whole machine: at least ours moved it.
    assert.ok(counted >= martians, `in_martian_src moved by ${counted}, fewer than the ${martians} sent`);
    ledger.explain('kernel:rt_cache.in_martian_src', martians);
    // A source that is one of B's own addresses fails fib_validate_source, which counts it nowhere but in
    // InReceives without InDelivers.
    const k0 = await kernelCounters(lab, B);
    const own = send(B_ADDR);
    await sleep(200);
    const k1 = await kernelCounters(lab, B);
    const unaccounted = counterDelta(k0, k1, 'Ip.InReceives') - counterDelta(k0, k1, 'Ip.InDelivers') - counterDelta(k0, k1, 'Ip.InHdrErrors');
    assert.ok(unaccounted >= own, `${unaccounted} received and not delivered, fewer than the ${own} sent`);
    ledger.explain('kernel:local source (fib_validate_source)', own);
    // 0/8 other than 0.0.0.0 is an ordinary source since Linux 5.3: burrow gets it, and no tunnel has it.
    const zeroNet = send(0x00010203);
    ledger.sent = martians + own + zeroNet;
    s.badInputs(ledger.sent);
    await sleep(200);
    const c1 = await settledCounters(lab, B);
    ledger.delivered = tunnelDelta(c0, c1, 'bip0').rx.packets;
    ledger.explainAll(dropDelta(c0, c1));
    assert.deepEqual(dropDelta(c0, c1), { 'no-tunnel': zeroNet }, 'burrow saw only the 0/8 ones');
    ledger.reconcile();
  });

  scenario('A', 'headers the kernel passes: trailing bytes, TTL 0, options, 0- and 1-byte payloads, reason by reason', () => lab, { watch: [B] }, async (s) => {
    const dst = await macOf(lab, B, 'eth0');
    const src = await macOf(lab, R, 'eth1');
    const m = mirror();
    const cases: { mode: CarriedMode; packet: Uint8Array; kernelSees: Uint8Array }[] = [];
    const add = (mode: CarriedMode, packet: Uint8Array, kernelSees = packet): void => void cases.push({ mode, packet, kernelSees });
    const gre7 = Uint8Array.of(0xa0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 7, ...echo(3));
    const sum = internetChecksum(gre7, 0, gre7.length);
    gre7[4] = sum >> 8;
    gre7[5] = sum;
    for (const protocol of [4, 41, 47]) {
      const mode: CarriedMode = protocol === 4 ? 'ipip' : protocol === 41 ? 'sit' : 'gre';
      add(mode, outer(protocol, new Uint8Array(0)));
      add(mode, outer(protocol, Uint8Array.of(0x45)));
      add(mode, outer(protocol, echo(4), { ttl: 0 }));
    }
    add('gre', outer(47, gre7, { ttl: 0 }));
    // 20 bytes of junk after the packet: the kernel trims to the total length.
    const padded = new Uint8Array(20 + gre7.length + 20).fill(0xee);
    padded.set(outer(47, gre7));
    add('gre', padded, outer(47, gre7));
    // Options (4 NOPs): IHL 6.
    const opts = new Uint8Array(24 + gre7.length);
    writeIpv4Header(opts, 0, 0, opts.length, 0, true, 64, 47, A_ADDR, B_ADDR);
    opts[0] = 0x46;
    opts.fill(1, 20, 24);
    opts.set(gre7, 24);
    opts[10] = opts[11] = 0;
    const osum = internetChecksum(opts, 0, 24);
    opts[10] = osum >> 8;
    opts[11] = osum;
    add('gre', opts);
    // Right key and checksum, payload types and inner packets the tunnel cannot take, outer CE.
    const gre = (type: number, inner: Uint8Array): Uint8Array => {
      const g = new Uint8Array(12 + inner.length);
      writeGreHeader(g, 0, 0xa000, type, 7, 0);
      g.set(inner, 12);
      const c = internetChecksum(g, 0, g.length);
      g[4] = c >> 8;
      g[5] = c;
      return g;
    };
    add('gre', outer(47, gre(0x6558, echo(5)))); // Ethernet: gretap's, no tunnel here
    add('gre', outer(47, gre(0x8847, echo(6)))); // MPLS
    const v5 = echo(7);
    v5[0] = 0x55;
    add('gre', outer(47, gre(0x0800, v5))); // not IPv4 after all
    add('gre', outer(47, gre(0x0800, echo(8)), { tos: 0x03 })); // CE on a Not-ECT inner
    add('gre', outer(47, gre(0x0800, echo(9).map((b, i) => (i === 1 ? 0x02 : b))), { tos: 0x03 })); // CE on ECT(0): marked
    const packets = Array.from({ length: 5 }, () => cases).flat();
    const predicted: Record<string, number> = {};
    for (const c of packets) {
      const r = m.receive(c.mode, c.kernelSees);
      predicted[r] = (predicted[r] ?? 0) + 1;
    }
    const c0 = await readCounters(lab, B);
    const sent = sendFrames(lab, R, 'eth1', packets.map((c) => c.packet), dst, src);
    s.badInputs(sent);
    await sleep(300);
    const c1 = await settledCounters(lab, B);
    const ledger = s.ledger('headers the kernel passes');
    ledger.sent = sent;
    ledger.delivered = delivered(c0, c1);
    ledger.explainAll(dropDelta(c0, c1));
    assert.deepEqual({ ...dropDelta(c0, c1), delivered: ledger.delivered }, predicted, 'as burrow\'s own decapsulate predicts');
    ledger.reconcile();
  });

  scenario('A', 'a flood of wrong GRE keys from a spoofed peer while good traffic flows: counted, ICMP rate-limited', () => lab, { watch: [A, B] }, async (s) => {
    const N = 20_000;
    const packets: Uint8Array[] = [];
    for (let i = 0; i < N; i++) {
      const g = new Uint8Array(8 + 84);
      writeGreHeader(g, 0, 0x2000, 0x0800, 1000 + (i % 5000), 0);
      g.set(echo(i & 0xffff), 8);
      packets.push(outer(47, g));
    }
    const a0 = await readCounters(lab, A);
    const b0 = await readCounters(lab, B);
    const ka0 = await kernelCounters(lab, A);
    const raw0 = await rawDrops(lab, B);
    const pinging = ping(lab, A, '10.0.0.2', ['-c', '50', '-i', '0.01']);
    const started = Date.now();
    let sent = 0;
    for (let i = 0; i < N; i += 2000) sent += inject(lab, R, packets.slice(i, i + 2000));
    const seconds = (Date.now() - started) / 1000;
    const result = await pinging;
    s.badInputs(sent);
    const a1 = await settledCounters(lab, A);
    const b1 = await settledCounters(lab, B);
    const ka1 = await kernelCounters(lab, A);
    const raw1 = await rawDrops(lab, B);
    const ledger = s.ledger('wrong keys and good traffic into B');
    ledger.sent = sent + tunnelDelta(a0, a1, 'vpn0').tx.packets;
    ledger.delivered = delivered(b0, b1);
    ledger.explainAll(dropDelta(b0, b1));
    ledger.explain('kernel:raw socket receive buffer', (raw1[47] ?? 0) - (raw0[47] ?? 0));
    ledger.reconcile();
    assert.ok((dropDelta(b0, b1)['no-tunnel'] ?? 0) <= sent);
    // Every good packet made it, or the kernel's count of raw socket overflows covers the loss.
    assert.ok(result.transmitted - result.received <= (raw1[47] ?? 0) - (raw0[47] ?? 0), result.output);
    // Port unreachables went to the spoofed source (A): at most the per-peer burst plus one a second.
    const icmp = counterDelta(ka0, ka1, 'Icmp.InDestUnreachs');
    assert.ok(icmp <= 6 + Math.ceil(seconds) + 2, `${icmp} port unreachables in ${seconds.toFixed(2)} s`);
    console.log(`  wrong keys: ${sent} packets in ${seconds.toFixed(2)} s (${Math.round(sent / seconds)}/s), ${icmp} ICMP errors back, ping ${result.received}/${result.transmitted}`);
  });

  scenario('A', 'spoofed peer with random inner sources: delivered and counted; rp_filter on the device stops the forwarding', () => lab, { watch: [B] }, async (s) => {
    await lab.setSysctl(B, 'net.ipv4.conf.bip0.rp_filter', 1);
    const rnd = fc.sample(fc.tuple(fc.integer({ min: 0x0b000000, max: 0xdfffffff }), fc.nat(0xffff)), { seed: FAULT_SEED, numRuns: 200 });
    const packets = rnd.map(([src, id]) => {
      const inner = echo(id);
      inner.set([src >>> 24, (src >>> 16) & 0xff, (src >>> 8) & 0xff, src & 0xff], 12);
      inner.set([172, 16, 0, 5], 16); // the container behind B
      inner[10] = inner[11] = 0;
      const sum = internetChecksum(inner, 0, 20);
      inner[10] = sum >> 8;
      inner[11] = sum;
      return outer(4, inner);
    });
    const c0 = await readCounters(lab, B);
    const k0 = await kernelCounters(lab, B);
    const container0 = await linkStats(lab, 'c', 'eth0');
    const sent = inject(lab, R, packets);
    s.badInputs(sent);
    await sleep(300);
    const c1 = await settledCounters(lab, B);
    const k1 = await kernelCounters(lab, B);
    const container1 = await linkStats(lab, 'c', 'eth0');
    const ledger = s.ledger('spoofed ipip');
    ledger.sent = sent;
    ledger.delivered = delivered(c0, c1);
    ledger.explainAll(dropDelta(c0, c1));
    ledger.reconcile();
    assert.equal(tunnelDelta(c0, c1, 'bip0').rx.packets, sent, 'burrow, like the kernel, cannot tell them from the peer');
    assert.equal(counterDelta(k0, k1, 'TcpExt.IPReversePathFilter'), sent, 'the kernel\'s reverse-path filter drops them');
    assert.equal(container1.rx.packets - container0.rx.packets, 0, 'none reached the container');
    await lab.setSysctl(B, 'net.ipv4.conf.bip0.rp_filter', 0);
  });

  scenario('A', 'nested encapsulation 1 to 20 deep: each layer decapsulated and counted, the echo answered', () => lab, { watch: [A, B] }, async (s) => {
    const packets = Array.from({ length: 20 }, (_, i) => nested(echo(100 + i), i + 1));
    const c0 = await readCounters(lab, B);
    const a0 = await readCounters(lab, A);
    const sent = inject(lab, R, packets);
    await sleep(300);
    const c1 = await settledCounters(lab, B);
    const a1 = await settledCounters(lab, A);
    const ledger = s.ledger('ipip layers');
    ledger.sent = (sent * (sent + 1)) / 2; // 1 + 2 + ... + 20 layers
    ledger.delivered = tunnelDelta(c0, c1, 'bip0').rx.packets;
    ledger.explainAll(dropDelta(c0, c1));
    ledger.reconcile();
    // The innermost echo requests reach B's stack; the replies to 10.0.0.1 go back through vpn0.
    assert.ok(tunnelDelta(a0, a1, 'vpn0').rx.packets >= 20, 'the 20 echo replies came back to A');
  });

  scenario('A', 'a burst of structure-aware bad packets while good traffic flows: every one as predicted', () => lab, { watch: [A, B] }, async (s) => {
    const rx = [VPN0, ...B_EXTRA].map((t) => ({ s: t.settings, up: true, local: B_ADDR, remote: A_ADDR }));
    const generated = fc.sample(outerInput(rx), { seed: FAULT_SEED, numRuns: 3000 });
    // B's bseq0 has seen no sequence number yet (this file sends it none before), nor has the mirror.
    const m = mirror();
    const c0 = await readCounters(lab, B);
    const packets = generated.map((g, i) => ({ mode: g.mode, packet: kernelShaped(g.mode, g.packet, i % 7 === 0 ? R_ADDR : A_ADDR) }));
    const predicted: Record<string, number> = {};
    for (const p of packets) {
      const r = m.receive(p.mode, p.packet);
      predicted[r] = (predicted[r] ?? 0) + 1;
    }
    const a0 = await readCounters(lab, A);
    const raw0 = await rawDrops(lab, B);
    const rawA0 = await rawDrops(lab, A);
    const pinging = ping(lab, A, '10.0.0.2', ['-c', '30', '-i', '0.02']);
    let sent = 0;
    for (let i = 0; i < packets.length; i += 50) {
      sent += inject(lab, R, packets.slice(i, i + 50).map((p) => p.packet));
      await sleep(5);
    }
    const result = await pinging;
    const rawA1 = await rawDrops(lab, A);
    s.badInputs(sent);
    const a1 = await settledCounters(lab, A);
    const c1 = await settledCounters(lab, B);
    const raw1 = await rawDrops(lab, B);
    const rawLost = [4, 41, 47].reduce((n, p) => n + (raw1[p] ?? 0) - (raw0[p] ?? 0), 0);
    const good = tunnelDelta(a0, a1, 'vpn0').tx.packets;
    const ledger = s.ledger('bad burst and good traffic into B');
    ledger.sent = sent + good;
    ledger.delivered = delivered(c0, c1);
    ledger.explainAll(dropDelta(c0, c1));
    ledger.explain('kernel:raw socket receive buffer', rawLost);
    ledger.reconcile();
    // Every good packet made it, or (requests or replies) a raw socket overflow the kernel counted.
    const overflow = rawLost + (rawA1[47] ?? 0) - (rawA0[47] ?? 0);
    assert.ok(result.transmitted - result.received <= overflow, `${result.received}/${result.transmitted} with ${overflow} raw socket overflows\n${result.output}`);
    if (rawLost === 0) {
      const got = { ...dropDelta(c0, c1), delivered: ledger.delivered - good };
      assert.deepEqual(got, predicted, 'reason by reason, as decapsulate predicts');
    }
    const used = new Set(packets.map((p) => PROTOCOL[p.mode]));
    assert.deepEqual([...used].sort(), [4, 41, 47]);
  });
});
