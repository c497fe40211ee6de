/**
 * Helpers for data-plane tests on the classic topology (src/lab/scenarios/classic.ts): a tunnel pair
 * between A and B, counters as `burrow -j -s tunnel show` reports them, ping summaries, outer packets
 * seen on the wire (tcpdump on the router), and packets injected from inside a namespace.
 */
import assert from 'node:assert/strict';
import { Lab } from '../../src/lab/netns.js';
import { A_TUNNEL, A_UNDERLAY, B_TUNNEL, B_UNDERLAY, buildClassic, NODE } from '../../src/lab/scenarios/classic.js';
import { inNetns } from '../../src/io/native/index.js';
import { PacketBatch } from '../../src/io/port.js';
import { RawIpv4Socket } from '../../src/io/raw-socket.js';

export { A_TUNNEL, A_UNDERLAY, B_TUNNEL, B_UNDERLAY, NODE };

export const A = NODE.A;
export const B = NODE.B;
export const R = NODE.R;

/** Builds the classic topology in a fresh lab. */
export async function classicLab(): Promise<Lab> {
  const lab = new Lab();
  await buildClassic(lab);
  return lab;
}

export async function burrowOk(lab: Lab, ns: string, args: string[]): Promise<string> {
  const r = await lab.burrow(ns, args);
  assert.equal(r.code, 0, `burrow ${args.join(' ')} in ${ns}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

/**
 * `burrow tunnel add NAME mode MODE remote <peer> local <self> ...extra` on A and B, device up, an
 * IPv4 (or, for sit, IPv6) address on each end. Returns the two addresses. `noIpv6` turns IPv6 off on
 * the devices before they come up, so that the kernel's own IPv6 chatter does not move the counters.
 */
export async function tunnelPair(
  lab: Lab,
  mode: 'ipip' | 'gre' | 'sit',
  extra: { a?: string[]; b?: string[]; both?: string[]; noIpv6?: boolean } = {},
  name = 'vpn0',
): Promise<{ a: string; b: string }> {
  const six = mode === 'sit';
  const addr = six ? { a: '2001:db8:1::1', b: '2001:db8:1::2' } : { a: A_TUNNEL, b: B_TUNNEL };
  for (const [ns, local, remote, own, side] of [
    [A, A_UNDERLAY, B_UNDERLAY, addr.a, extra.a],
    [B, B_UNDERLAY, A_UNDERLAY, addr.b, extra.b],
  ] as const) {
    await burrowOk(lab, ns, ['tunnel', 'add', name, 'mode', mode, 'remote', remote, 'local', local, ...(extra.both ?? []), ...(side ?? [])]);
    if (extra.noIpv6) await lab.run(ns, ['sysctl', '-qw', `net.ipv6.conf.${name}.disable_ipv6=1`]);
    await lab.ip(ns, ['link', 'set', name, 'up']);
    await lab.ip(ns, six ? ['-6', 'addr', 'add', `${own}/64`, 'dev', name, 'nodad'] : ['addr', 'add', `${own}/24`, 'dev', name]);
  }
  return addr;
}

export async function deletePair(lab: Lab, name = 'vpn0'): Promise<void> {
  for (const ns of [A, B]) await burrowOk(lab, ns, ['tunnel', 'del', name]);
}

export interface Counters {
  rx: { packets: number; bytes: number; errors: number; crc_errors: number; frame_errors: number; fifo_errors: number };
  tx: { packets: number; bytes: number; errors: number; carrier_errors: number; collisions: number; dropped: number };
}

/** The tunnel's counters from `burrow -s -s -j tunnel show` (list mode). */
export async function counters(lab: Lab, ns: string, name = 'vpn0'): Promise<Counters> {
  const shown = JSON.parse(await burrowOk(lab, ns, ['-s', '-s', '-j', 'tunnel', 'show'])) as Array<{
    ifname: string;
    stats64: Counters;
  }>;
  const entry = shown.find((t) => t.ifname === name);
  assert.ok(entry, `${name} is not listed in ${ns}`);
  return entry.stats64;
}

export interface PingResult {
  transmitted: number;
  received: number;
  output: string;
}

export async function ping(lab: Lab, ns: string, target: string, args: string[] = []): Promise<PingResult> {
  const r = await lab.exec(ns, ['ping', '-c', '5', '-i', '0.05', '-W', '1', ...args, target], { timeoutMs: 30_000 });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { transmitted: m ? Number(m[1]) : 0, received: m ? Number(m[2]) : 0, output: r.stdout + r.stderr };
}

/**
 * Captures `count` outer packets of IP protocol `protocol` on the router's interface facing `side`
 * while `during` runs; returns tcpdump's verbose lines (which carry ttl, tos and flags).
 */
export async function captureOnRouter(
  lab: Lab,
  side: 'a' | 'b',
  filter: string,
  count: number,
  during: () => Promise<unknown>,
): Promise<string[]> {
  const tcpdump = lab.spawn(R, ['tcpdump', '-n', '-v', '-l', '-i', side === 'a' ? 'eth0' : 'eth1', '-c', String(count), filter]);
  await tcpdump.waitForOutput('listening on');
  await during();
  await tcpdump.wait(10_000).catch(() => lab.kill(tcpdump));
  return tcpdump.stdout.split('\n').filter((line) => /^\d/.test(line));
}

/** Sends complete IPv4 packets from a raw socket opened inside namespace `ns`. */
export function inject(lab: Lab, ns: string, packets: Uint8Array[]): number {
  return inNetns(`/run/netns/${lab.nsName(ns)}`, () => {
    const socket = RawIpv4Socket.open({ protocol: 255 });
    try {
      let sent = 0;
      const batch = new PacketBatch(64, 2048, 0);
      for (let i = 0; i < packets.length; i += 64) {
        batch.count = 0;
        for (const p of packets.slice(i, i + 64)) {
          const at = batch.slotStart(batch.count);
          batch.data.set(p, at);
          batch.push(at, p.length, (p[16] << 24 | p[17] << 16 | p[18] << 8 | p[19]) >>> 0);
        }
        sent += socket.writeBatch(batch);
      }
      return sent;
    } finally {
      socket.close();
    }
  });
}
