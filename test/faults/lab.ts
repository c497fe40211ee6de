/**
 * The fault suite's topology: the classic lab (A and B joined by router R; C behind B; see
 * src/lab/scenarios/classic.ts), with B holding one tunnel of every kind burrow receives, so that it
 * listens on protocols 4, 41 and 47, and A holding the peer of the gre one for good traffic:
 *
 * ```
 *   A 192.168.0.1 ---- R (spoofer, injector) ---- B 192.168.100.1
 *   vpn0 gre key 7 csum  10.0.0.1  <=========>  vpn0 gre key 7 csum  10.0.0.2
 *                                               bip0  ipip          (from A)
 *                                               bseq0 gre key 9 seq (from A)
 *                                               bsit0 sit           (from A)
 * ```
 * Every tunnel device on B is up; those without addresses take what arrives and the kernel routes it.
 * `mirror()` is B's table as pure data, to predict what burrow does with any packet (tunnel.test.ts's
 * decapsulate, the same code), so that the suite can check burrow reason by reason.
 */
import { parseIpv4Dotted } from '../../src/wire/address.js';
import type { Lab } from '../../src/lab/netns.js';
import { TunnelTable } from '../../src/tunnel/table.js';
import { decapsulate } from '../../src/tunnel/ip-tunnel.js';
import { newDecapResult } from '../../src/tunnel/mode.js';
import type { DropReason } from '../../src/tunnel/drop.js';
import { writeIpv4Header } from '../../src/wire/ipv4.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { A, A_UNDERLAY, B, B_UNDERLAY, burrowOk, classicLab, R, tunnelPair } from '../integration/tunnel-lab.js';
import { PROTOCOL, RECEIVE, receiverParams, upTunnel, type CarriedMode, type Settings } from '../fuzz/tunnel-gen.js';

export { A, B, R, A_UNDERLAY, B_UNDERLAY };
export const ROUTER_B_SIDE = '192.168.100.254';
export const A_ADDR = parseIpv4Dotted(A_UNDERLAY)!;
export const B_ADDR = parseIpv4Dotted(B_UNDERLAY)!;
export const R_ADDR = parseIpv4Dotted(ROUTER_B_SIDE)!;

export interface ReceivingTunnel {
  name: string;
  settings: Settings;
  /** `burrow tunnel add NAME ...` arguments after the name. */
  args: string[];
}

/** B's tunnels other than vpn0 (which tunnelPair makes on both ends). */
export const B_EXTRA: readonly ReceivingTunnel[] = [
  { name: 'bip0', settings: { mode: 'ipip', okey: null, ocsum: false, oseq: false, ttl: 64, tos: 0, pmtudisc: true }, args: ['mode', 'ipip', 'ttl', '64'] },
  { name: 'bseq0', settings: { mode: 'gre', okey: 9, ocsum: false, oseq: true, ttl: 64, tos: 0, pmtudisc: true }, args: ['mode', 'gre', 'key', '9', 'seq', 'ttl', '64'] },
  { name: 'bsit0', settings: { mode: 'sit', okey: null, ocsum: false, oseq: false, ttl: 64, tos: 0, pmtudisc: true }, args: ['mode', 'sit', 'ttl', '64'] },
];
export const VPN0: ReceivingTunnel = {
  name: 'vpn0',
  settings: { mode: 'gre', okey: 7, ocsum: true, oseq: false, ttl: 64, tos: 0, pmtudisc: true },
  args: ['mode', 'gre', 'key', '7', 'csum', 'ttl', '64'],
};

/** The classic lab with vpn0 on A and B and (unless `extras` is false) B's extra tunnels, all up. */
export async function faultLab(extras = true): Promise<Lab> {
  const lab = await classicLab();
  // No IPv6 on the devices: the kernel's own IPv6 chatter (MLD, router solicitations) would add
  // packets to the tunnels that no scenario sent.
  await tunnelPair(lab, 'gre', { both: ['key', '7', 'csum', 'ttl', '64'], noIpv6: true });
  for (const t of extras ? B_EXTRA : []) {
    await burrowOk(lab, B, ['tunnel', 'add', t.name, 'remote', A_UNDERLAY, 'local', B_UNDERLAY, ...t.args]);
    await lab.run(B, ['sysctl', '-qw', `net.ipv6.conf.${t.name}.disable_ipv6=1`]);
    await lab.ip(B, ['link', 'set', t.name, 'up']);
  }
  await settled(lab);
  // Warm up: the daemons open their sending socket on the first packet; a scenario's fd count starts after.
  await lab.exec(A, ['ping', '-c', '1', '-W', '2', '10.0.0.2']);
  return lab;
}

/** Waits until no namespace has an IPv6 address in duplicate address detection (its routes come after). */
export async function settled(lab: Lab): Promise<void> {
  for (let i = 0; i < 100; i++) {
    let tentative = '';
    for (const ns of lab.namespaces) tentative += await lab.ip(ns, ['-6', 'addr', 'show', 'tentative']);
    if (tentative.trim() === '') return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** B's tunnels as burrow holds them, to run decapsulate on: same parameters, same order, all up. */
export function mirror(): { table: TunnelTable; receive(mode: CarriedMode, packet: Uint8Array): DropReason | 'delivered' } {
  const table = new TunnelTable();
  for (const t of [VPN0, ...B_EXTRA]) table.add(upTunnel(receiverParams(t.settings, t.name, B_ADDR, A_ADDR)));
  const out = newDecapResult();
  return {
    table,
    receive(mode, packet) {
      const bytes = Buffer.from(packet);
      const reason = decapsulate(RECEIVE[mode], table, bytes, 0, bytes.length, 0, out);
      if (reason !== null && out.tunnel) out.tunnel.drop(reason);
      return reason ?? 'delivered';
    },
  };
}

/**
 * What B's kernel hands burrow for a generated outer packet, made so that the kernel passes it: a plain
 * 20-byte header from `src` to B with the packet's TOS and TTL (at least 1), DF, the mode's protocol,
 * and the packet's payload.
 */
export function kernelShaped(mode: CarriedMode, packet: Uint8Array, src: number): Uint8Array {
  let payload: Uint8Array = new Uint8Array(0);
  let tos = 0;
  let ttl = 64;
  if (packet.length >= 20) {
    const ihl = (packet[0] & 0x0f) * 4;
    payload = packet.subarray(ihl >= 20 && ihl <= packet.length ? ihl : 20);
    tos = packet[1];
    ttl = packet[8] || 1;
  }
  const p = new Uint8Array(20 + payload.length);
  writeIpv4Header(p, 0, tos, p.length, 0, true, ttl, PROTOCOL[mode], src, B_ADDR);
  p.set(payload, 20);
  return p;
}

/** A tunnel NAME on A and B (`args` after the addresses), up, with 10.N.0.1/24 on A and 10.N.0.2/24 on B. */
export async function pair(lab: Lab, name: string, args: string[], subnet: number): Promise<{ a: string; b: string }> {
  const a = `10.${subnet}.0.1`;
  const b = `10.${subnet}.0.2`;
  for (const [ns, local, remote, own] of [
    [A, A_UNDERLAY, B_UNDERLAY, a],
    [B, B_UNDERLAY, A_UNDERLAY, b],
  ] as const) {
    await burrowOk(lab, ns, ['tunnel', 'add', name, 'remote', remote, 'local', local, ...args]);
    await lab.run(ns, ['sysctl', '-qw', `net.ipv6.conf.${name}.disable_ipv6=1`]);
    await lab.ip(ns, ['link', 'set', name, 'up']);
    await lab.ip(ns, ['addr', 'add', `${own}/24`, 'dev', name]);
  }
  return { a, b };
}

export async function unpair(lab: Lab, name: string): Promise<void> {
  for (const ns of [A, B]) await burrowOk(lab, ns, ['tunnel', 'del', name]);
}

/** An outer IPv4 packet to B (from A unless `src`) with a valid header. */
export function outer(protocol: number, payload: Uint8Array, fields: { src?: number; ttl?: number; tos?: number } = {}): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  writeIpv4Header(p, 0, fields.tos ?? 0, p.length, 0, true, fields.ttl ?? 64, protocol, fields.src ?? A_ADDR, B_ADDR);
  p.set(payload, 20);
  return p;
}

/** An ICMP echo request from `src` to `dst` (10.0.0.1 -> 10.0.0.2: A's and B's tunnel addresses), 84 bytes. */
export function echo(id: number, src = 0x0a000001, dst = 0x0a000002): Uint8Array {
  const p = new Uint8Array(84);
  writeIpv4Header(p, 0, 0, 84, id, false, 64, 1, src, dst);
  p[20] = 8;
  p[24] = id >> 8;
  p[25] = id;
  const sum = internetChecksum(p, 20, 64);
  p[22] = sum >> 8;
  p[23] = sum;
  return p;
}
