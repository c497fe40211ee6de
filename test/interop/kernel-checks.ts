/**
 * What the interop tests against the kernel do again and again: capture outer packets on the router,
 * ping from either host with the counters of both tunnels around it, exchange pings both ways with
 * exact counters, compare the outer headers each side makes, read `-s` counter blocks, and run one
 * outer-header case (the same ping from both hosts, the two outer headers compared).
 *
 * Packets are read with the suite's own code (packets.ts), never with burrow's codecs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureOnHost, ethernetIpv4, inetChecksum, parseGre, parseIpv4, parseIpv6, type GreView, type Ipv4View } from './packets.js';
import {
  A, A_UNDERLAY, B_UNDERLAY, BURROW_STATS, KERNEL_STATS, R, R_TO_A, burrowCmd, burrowCountersFrom, checkScripts, delta,
  kernelCountersFrom, moved, parsePing, pingCommand, runScripts, withPair, type Flat, type Pair, type PairOptions, type PeerLab,
} from './peer-lab.js';

export const PROTOCOL = { ipip: 4, gre: 47, sit: 41 } as const;

/** An outer packet as the receiving side got it. */
export interface Outer {
  ip: Ipv4View;
  gre?: GreView;
}

/** Outer packets of the pair's protocol from `src`, captured on R's interface `ifname` while `during` runs. */
export async function captureOuter(f: PeerLab, p: Pair, ifname: string, src: string, count: number, during: () => Promise<unknown>): Promise<Outer[]> {
  const cap = await captureOnHost(f.lab.nsName(R), ifname, `ip proto ${PROTOCOL[p.mode]} and src host ${src}`, count);
  try {
    await during();
  } catch (e) {
    await cap.stop();
    throw e;
  }
  const frames = await cap.packets(5_000);
  return frames.map((frame) => {
    const ip = parseIpv4(ethernetIpv4(frame)!);
    return p.mode === 'gre' ? { ip, gre: parseGre(ip.payload) } : { ip };
  });
}

/** Pings from A to B, with the counters of both sides around it. */
export async function pingFromA(f: PeerLab, p: Pair, count: number, extra = '') {
  const [before] = await checkScripts(f.lab, A, [BURROW_STATS(f.lab)]);
  const kernelBefore = await f.peer.check(KERNEL_STATS(p.name));
  const [ping, after] = await runScripts(f.lab, A, [pingCommand(p.bAddress, count, extra), BURROW_STATS(f.lab)]);
  const kernelAfter = await f.peer.check(KERNEL_STATS(p.name));
  return {
    ping: parsePing(ping),
    burrow: delta(burrowCountersFrom(before, p.name), burrowCountersFrom(after.stdout, p.name)),
    kernel: delta(kernelCountersFrom(kernelBefore, p.name), kernelCountersFrom(kernelAfter, p.name)),
  };
}

/** Pings from B to A, with the counters of both sides around it. */
export async function pingFromB(f: PeerLab, p: Pair, count: number, extra = '') {
  const [before] = await checkScripts(f.lab, A, [BURROW_STATS(f.lab)]);
  const [k0, ping, k1] = await f.peer.runMany([KERNEL_STATS(p.name), pingCommand(p.aAddress, count, extra), KERNEL_STATS(p.name)]);
  const [after] = await checkScripts(f.lab, A, [BURROW_STATS(f.lab)]);
  return {
    ping: parsePing(ping),
    burrow: delta(burrowCountersFrom(before, p.name), burrowCountersFrom(after, p.name)),
    kernel: delta(kernelCountersFrom(k0.stdout, p.name), kernelCountersFrom(k1.stdout, p.name)),
  };
}

/** What `count` echoes and their replies move on the sender's and on the receiver's tunnel. */
export function echoCounters(count: number, size: number): { sender: Flat; receiver: Flat } {
  const both = { rx_bytes: count * size, rx_packets: count, tx_bytes: count * size, tx_packets: count };
  return { sender: both, receiver: both };
}

export interface Exchange {
  /** burrow's outer packets as the kernel's side received them. */
  fromBurrow: Outer[];
  /** The kernel's outer packets as burrow's side received them. */
  fromKernel: Outer[];
}

/**
 * `count` pings of `payload` bytes from A to B, then from B to A, each answered; checks the counters
 * of both tunnels after each direction (exactly the echoes and replies, nothing else) and returns
 * every outer packet each side sent, captured on the router leg towards the other.
 */
export async function exchange(f: PeerLab, p: Pair, count = 3, payload = 56): Promise<Exchange> {
  const size = (p.six ? 48 : 28) + payload;
  const expected = echoCounters(count, size);
  const extra = payload === 56 ? '' : `-s ${payload}`;
  let fromKernel: Outer[] = [];
  const fromBurrow = await captureOuter(f, p, f.tap, A_UNDERLAY, 2 * count, async () => {
    fromKernel = await captureOuter(f, p, R_TO_A, B_UNDERLAY, 2 * count, async () => {
      const ab = await pingFromA(f, p, count, extra);
      assert.equal(ab.ping.received, count, ab.ping.output);
      assert.deepEqual(moved(ab.burrow), expected.sender, 'burrow, sending the echoes');
      assert.deepEqual(moved(ab.kernel), expected.receiver, 'the kernel, answering them');
      const ba = await pingFromB(f, p, count, extra);
      assert.equal(ba.ping.received, count, ba.ping.output);
      assert.deepEqual(moved(ba.kernel), expected.sender, 'the kernel, sending the echoes');
      assert.deepEqual(moved(ba.burrow), expected.receiver, 'burrow, answering them');
    });
  });
  assert.equal(fromBurrow.length, 2 * count, 'burrow sent one outer packet per echo and reply');
  assert.equal(fromKernel.length, 2 * count, 'the kernel sent one outer packet per echo and reply');
  return { fromBurrow, fromKernel };
}

/** What every outer packet must show, whoever sent it: addresses, protocol, checksums, lengths. */
export function checkOuter(o: Outer, p: Pair, src: string, dst: string): void {
  assert.equal(o.ip.src, src);
  assert.equal(o.ip.dst, dst);
  assert.equal(o.ip.protocol, PROTOCOL[p.mode]);
  assert.ok(o.ip.checksumOk, 'outer header checksum');
  if (o.gre) {
    assert.equal(o.gre.flags & 0x0fff, 0, 'GRE version 0, no routing, no reserved bits');
    assert.equal(o.gre.protocol, p.six ? 0x86dd : 0x0800);
    if (o.gre.checksum !== undefined) assert.equal(inetChecksum(o.ip.payload), 0, 'GRE checksum over header and payload');
  }
}

/** The fields of the outer header a receiver sees that depend on the sender's rules. */
export function shape(o: Outer) {
  return { ttl: o.ip.ttl, tos: o.ip.tos, df: o.ip.df, greFlags: o.gre?.flags, length: o.ip.totalLength };
}

/** IDs of the outer packets: the kernel gives each a new one, DF or not (iptunnel_xmit, __ip_select_ident). */
export function assertFreshIds(packets: Outer[], who: string): void {
  const ids = packets.map((o) => o.ip.id);
  assert.equal(new Set(ids).size, ids.length, `${who}: every outer packet has its own IP ID: ${ids.join(' ')}`);
}

/** The lines after the tunnel line of `-s tunnel show NAME`: the counters, as iproute2 lays them out. */
export function statsBlock(text: string, name: string): string {
  const lines = text.split('\n');
  assert.ok(lines[0].startsWith(`${name}: `), text);
  return lines.slice(1, 5).join('\n');
}

export async function burrowStatsBlock(f: PeerLab, name: string): Promise<string> {
  const [out] = await checkScripts(f.lab, A, [`${burrowCmd(f.lab)} -s tunnel show ${name}`]);
  return statsBlock(out, name);
}

export async function kernelStatsBlock(f: PeerLab, name: string): Promise<string> {
  return statsBlock(await f.peer.check(`ip -s tunnel show ${name}`), name);
}

/** ICMP type of the packet inside an outer packet (IPv4 inside ipip and gre, IPv6 inside sit). */
export function innerIcmpType(o: Outer, p: Pair): number {
  const inner = o.gre ? o.gre.payload : o.ip.payload;
  if (p.six) return parseIpv6(inner).payload[0];
  return inner[(inner[0] & 0x0f) * 4];
}

/** `<FLAGS>`, `mtu N` and `qlen N` of an `ip link show` / `ip -d link show` first line. */
export function linkHead(text: string): { flags: string; mtu: number; qlen: number } {
  const m = /<([^>]*)> mtu (\d+) .* qlen (\d+)/.exec(text);
  assert.ok(m, text);
  return { flags: m[1], mtu: Number(m[2]), qlen: Number(m[3]) };
}

export interface HeaderCase {
  what: string;
  pair: PairOptions;
  /** ping options, the same on both hosts */
  ping: string;
  /** The echo request's outer header as the receiver gets it (one router hop on the way). */
  request: { ttl: number; tos: number; df: boolean };
}

/**
 * One outer-header case as a test: a pair made with the case's settings, one ping from each host with
 * the case's options, the echo request and the reply of each side captured on the router leg towards
 * the other; the kernel's request must be what the case says, and burrow's packets the kernel's.
 */
export function headerCaseTest(f: PeerLab, c: HeaderCase): void {
  test(`outer header: ${c.what} (${c.pair.both ?? 'defaults'}; ping ${c.ping || 'plain'})`, async () => {
    await withPair(f, c.pair, async (p) => {
      const echo = p.six ? 128 : 8;
      let fromKernel: Outer[] = [];
      const fromBurrow = await captureOuter(f, p, f.tap, A_UNDERLAY, 2, async () => {
        fromKernel = await captureOuter(f, p, R_TO_A, B_UNDERLAY, 2, async () => {
          const [a] = await runScripts(f.lab, A, [pingCommand(p.bAddress, 1, c.ping)]);
          assert.equal(parsePing(a).received, 1, a.stdout + a.stderr);
          const b = await f.peer.run(pingCommand(p.aAddress, 1, c.ping));
          assert.equal(parsePing(b).received, 1, b.stdout + b.stderr);
        });
      });
      assert.equal(fromBurrow.length, 2);
      assert.equal(fromKernel.length, 2);
      const byType = (packets: Outer[]) => {
        const request = packets.find((o) => innerIcmpType(o, p) === echo);
        const reply = packets.find((o) => innerIcmpType(o, p) !== echo);
        assert.ok(request && reply, 'an echo request and a reply');
        return { request: shape(request), reply: shape(reply) };
      };
      const burrow = byType(fromBurrow);
      const kernel = byType(fromKernel);
      const { ttl, tos, df } = kernel.request;
      assert.deepEqual({ ttl, tos, df }, c.request, 'the kernel, as the spec says');
      assert.deepEqual(burrow, kernel, 'burrow, as the kernel: request and reply');
    });
  });
}
