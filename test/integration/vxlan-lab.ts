/**
 * The vxlan interop lab: burrow and the kernel's own vxlan driver on one underlay LAN, so that the
 * kernel is the oracle. Three hosts on a switch (a bridge in its own namespace):
 *
 * ```
 *        K1  kernel vxlan             B  burrow vxlan              K2  kernel vxlan
 *        eth0 192.168.50.1/24         eth0 192.168.50.2/24         eth0 192.168.50.3/24
 *            \                              |                             /
 *             +------ p1 ---------- SW  br0 (bridge) ---------- p3 ------+
 *                                           p2
 *   overlay (vx0): K1 10.50.0.1/24           B 10.50.0.2/24             K2 10.50.0.3/24
 * ```
 * Helpers make a vxlan device the kernel's way (`ip link add`) or burrow's (`burrow link add`) with the
 * same arguments, read its counters (`ip -s -j link show`, `burrow -s -s -j link show`), and run
 * pings, captures and byte-exact TCP transfers inside the namespaces.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from '../../src/lab/netns.js';
import { buildTopology, type TopologySpec } from '../../src/lab/topology.js';
import { parseIpv4Dotted } from '../../src/wire/address.js';
import { writeIpv4Header } from '../../src/wire/ipv4.js';
import { writeUdpHeader } from '../../src/wire/udp.js';
import { burrowOk, inject, ping, type PingResult } from './tunnel-lab.js';

export { burrowOk, inject, ping };

export const K1 = 'k1';
export const B = 'b';
export const K2 = 'k2';
export const SW = 'sw';
export const UNDERLAY: Record<string, string> = { k1: '192.168.50.1', b: '192.168.50.2', k2: '192.168.50.3' };
export const OVERLAY: Record<string, string> = { k1: '10.50.0.1', b: '10.50.0.2', k2: '10.50.0.3' };

export function vxlanTopology(): TopologySpec {
  const host = (name: string) => ({
    name,
    kind: 'host' as const,
    // No IPv6: its autoconfiguration chatter would move the counters the tests compare.
    sysctls: { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 },
  });
  return {
    name: 'vxlan',
    nodes: [{ name: SW, kind: 'host', bridges: [{ name: 'br0' }] }, host(K1), host(B), host(K2)],
    links: [K1, B, K2].map((node, i) => ({
      a: { node, ifname: 'eth0', addresses: [`${UNDERLAY[node]}/24`] },
      b: { node: SW, ifname: `p${i + 1}`, bridge: 'br0' },
    })),
  };
}

export async function vxlanLab(): Promise<Lab> {
  const lab = new Lab();
  await buildTopology(lab, vxlanTopology());
  // A kernel vxlan over a veth leaves the inner TCP/UDP checksums to be finished by whoever receives the
  // skb (CHECKSUM_PARTIAL crosses the veth); a userspace receiver only gets the bytes. A real NIC would
  // finish them on transmit; `tx off` makes the kernel hosts' veths do the same (see README).
  for (const ns of [K1, K2]) await lab.run(ns, ['ethtool', '-K', 'eth0', 'tx', 'off']);
  return lab;
}

/**
 * A vxlan device `name` on `ns`, made by the kernel (`ip link add`) or burrow (`burrow link add`) with
 * the same arguments, brought up with the overlay address of the node.
 */
export async function vxlan(lab: Lab, ns: string, args: string[], options: { name?: string; address?: boolean } = {}): Promise<void> {
  const name = options.name ?? 'vx0';
  const command = ['link', 'add', name, 'type', 'vxlan', ...args];
  if (ns === B) await burrowOk(lab, ns, command);
  else await lab.ip(ns, command);
  await lab.ip(ns, ['link', 'set', name, 'up']);
  if (options.address ?? true) await lab.ip(ns, ['addr', 'add', `${OVERLAY[ns]}/24`, 'dev', name]);
  // Until the device's own neighbour entries are learned, a stale one from an earlier test must not linger.
  await lab.ip(ns, ['neigh', 'flush', 'dev', name]).catch(() => undefined);
}

export async function deleteVxlan(lab: Lab, ns: string, name = 'vx0'): Promise<void> {
  if (ns === B) await burrowOk(lab, ns, ['link', 'del', name]);
  else await lab.ip(ns, ['link', 'del', name]);
}

/** The usual point-to-point configuration towards `peer`: id 100, dstport 4789, over eth0. */
export function towards(ns: string, peer: string, extra: string[] = []): string[] {
  return ['id', '100', 'remote', UNDERLAY[peer], 'local', UNDERLAY[ns], 'dev', 'eth0', 'dstport', '4789', ...extra];
}

export interface LinkCounters {
  rx: { bytes: number; packets: number; errors: number; dropped: number; frame_errors?: number; length_errors?: number };
  tx: { bytes: number; packets: number; errors: number; dropped: number; carrier_errors?: number };
}

/** The device's counters: the kernel's (ip -s -s -j) or burrow's (burrow -s -s -j link show), with burrow's drops. */
export async function counters(lab: Lab, ns: string, name = 'vx0'): Promise<LinkCounters & { drops: Record<string, number> }> {
  const text = ns === B ? await burrowOk(lab, ns, ['-s', '-s', '-j', 'link', 'show', name]) : await lab.ip(ns, ['-s', '-s', '-j', 'link', 'show', name]);
  const [entry] = JSON.parse(text) as Array<{ stats64: LinkCounters; drops?: Record<string, number> }>;
  return { ...entry.stats64, drops: entry.drops ?? {} };
}

/** The drops no device was charged with, from `burrow daemon status`. */
export async function unchargedDrops(lab: Lab, ns = B): Promise<Record<string, number>> {
  const status = await burrowOk(lab, ns, ['daemon', 'status']);
  return Object.fromEntries([...status.matchAll(/^drop ([a-z0-9-]+): (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

/** A ping that must get every answer. */
export async function pingOk(lab: Lab, ns: string, target: string, args: string[] = []): Promise<PingResult> {
  const r = await ping(lab, ns, target, args);
  assert.ok(r.transmitted > 0 && r.received === r.transmitted, `ping ${target} from ${ns}: ${r.output}`);
  return r;
}

/** Lines tcpdump prints (-n -v) for `count` packets matching `filter` on `ifname` of `ns`, while `during` runs. */
export async function capture(lab: Lab, ns: string, ifname: string, filter: string, count: number, during: () => Promise<unknown>): Promise<string[]> {
  const tcpdump = lab.spawn(ns, ['tcpdump', '-n', '-v', '-l', '-i', ifname, '-c', String(count), filter]);
  await tcpdump.waitForOutput('listening on');
  await during();
  await tcpdump.wait(10_000).catch(() => lab.kill(tcpdump));
  return tcpdump.stdout.split('\n').filter((line) => line.length > 0);
}

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Sends `bytes` random bytes over TCP from `from` to `to` (a listener on the overlay address of `to`)
 * and returns both ends' SHA-256 of what they sent and received.
 */
export async function tcpTransfer(lab: Lab, from: string, to: string, bytes: number): Promise<{ sent: string; received: string }> {
  const script = path.join(here, 'tcp-transfer.js');
  const server = lab.spawn(to, [process.execPath, script, 'server', OVERLAY[to], '5001']);
  await server.waitForOutput('listening');
  const client = await lab.exec(from, [process.execPath, script, 'client', OVERLAY[to], '5001', String(bytes)], { timeoutMs: 60_000 });
  assert.equal(client.code, 0, client.stderr);
  const exit = await server.wait(30_000);
  assert.equal(exit.code, 0, server.stderr);
  return { sent: client.stdout.trim(), received: server.stdout.replace('listening\n', '').trim() };
}

export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000, stepMs = 250): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The MAC of `name` in `ns`. */
export async function macOf(lab: Lab, ns: string, name = 'vx0'): Promise<string> {
  const [link] = JSON.parse(await lab.ip(ns, ['-j', 'link', 'show', name])) as Array<{ address: string }>;
  return link.address;
}

/** One UDP datagram to B's port 4789 from K1, with `payload` after the UDP header and outer TOS `tos`. */
export function udpTo(payload: Uint8Array, port = 4789, tos = 0): Uint8Array {
  const packet = Buffer.alloc(28 + payload.length);
  packet.set(payload, 28);
  writeUdpHeader(packet, 20, 40000, port, 8 + payload.length);
  writeIpv4Header(packet, 0, tos, packet.length, 0, false, 64, 17, parseIpv4Dotted(UNDERLAY[K1])!, parseIpv4Dotted(UNDERLAY[B])!);
  return packet;
}

export function vxlanHeader(vni: number, flags = 0x08): Buffer {
  const h = Buffer.alloc(8);
  h[0] = flags;
  h[4] = vni >>> 16;
  h[5] = vni >>> 8;
  h[6] = vni;
  return h;
}
