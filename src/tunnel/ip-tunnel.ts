/**
 * What ipip, gre and sit share on the packet path (the kernel's net/ipv4/ip_tunnel.c): the outer header
 * on transmit with its TTL/TOS/DF and path-MTU rules, and on receive the outer header check and the
 * common tail of ip_tunnel_rcv (inner packet sanity, ECN decapsulation).
 */
import { internetChecksum } from '../wire/checksum.js';
import { greHeaderLength } from '../wire/gre.js';
import {
  ipv4DfUnchecked,
  ipv4DstUnchecked,
  ipv4SetEcnCeUnchecked,
  ipv4SetEct1Unchecked,
  ipv4TosUnchecked,
  ipv4TtlUnchecked,
  ipVersionUnchecked,
  writeIpv4Header,
} from '../wire/ipv4.js';
import {
  ipv6HopLimitUnchecked,
  ipv6SetEcnCeUnchecked,
  ipv6SetEct1Unchecked,
  ipv6TrafficClassUnchecked,
} from '../wire/ipv6.js';
import type { DropReason } from './drop.js';
import type { DecapResult, EncapResult, Receive } from './mode.js';
import type { TunnelTable } from './table.js';
import { ipv4OfCompatible } from './nexthop.js';
import { ecnDecapsulate, EcnAction, outerDf, outerTos, outerTtl } from './rules.js';
import type { OuterRouteState, Tunnel } from './tunnel.js';

/** Where one packet goes: the outer destination and the outer route it takes. */
export interface OuterPath {
  /** Outer destination, host order; 0 when there is none. */
  destination: number;
  route: OuterRouteState;
  mtu: number;
}

/** The path of the packet being encapsulated (one at a time: nothing is allocated per packet). */
const path: OuterPath = { destination: 0, route: 'ok', mtu: 1500 };

/** A point-to-point tunnel's path: its remote, by the route the daemon watches. */
export function fixedPath(t: Tunnel): OuterPath {
  path.destination = t.params.remote;
  path.route = t.route;
  path.mtu = t.routeMtu;
  return path;
}

/**
 * The path of a packet on an NBMA tunnel (remote any; ip_tunnel_xmit): IPv4 inner goes to the next
 * hop of the route through the tunnel; IPv6 inner to that route's neighbour, which must be an
 * IPv4-compatible address. `destination` 0: no next hop.
 */
export function nextHopPath(t: Tunnel, bytes: Uint8Array, start: number, version: number): OuterPath {
  path.destination = 0;
  path.route = t.route;
  path.mtu = t.routeMtu;
  const hops = t.nextHops;
  if (version === 4) {
    path.destination = hops.ipv4(ipv4DstUnchecked(bytes, start));
  } else {
    const neighbour = hops.ipv6(bytes, start + 24);
    if (neighbour !== null) path.destination = ipv4OfCompatible(neighbour, hops.neighbourOffset);
  }
  if (path.destination !== 0) {
    path.route = hops.outer;
    path.mtu = hops.outerMtu;
  }
  return path;
}

/**
 * Outer-route and inner checks every mode makes before it builds headers. Returns a drop, or null with
 * `out.mtu` set to the largest inner packet the path takes (when DF will be set) or 0.
 */
export function checkTransmit(
  path: OuterPath,
  length: number,
  version: number,
  df: boolean,
  headerLength: number,
  out: EncapResult,
): DropReason | null {
  if (path.route === 'no-route') return 'no-route';
  if (path.route === 'dead-loop') return 'dead-loop';
  out.mtu = 0;
  if (!df) return null;
  // tnl_update_pmtu: with DF the inner packet must fit the outer route's MTU less our headers.
  const mtu = path.mtu - 20 - headerLength;
  out.mtu = mtu;
  if (length <= mtu) return null;
  // The kernel reports frag-needed only for an inner DF packet and quietly lowers the inner route's
  // PMTU otherwise; burrow cannot touch the inner route, so it reports frag-needed in both cases, which
  // lowers that PMTU the same way (the inner non-DF case is rare: the device MTU already fits the path).
  // An IPv6 packet over a path below 1280 gets no Packet Too Big (the caller checks `out.mtu`): the
  // kernel sends it with DF anyway and ip_fragment drops it; burrow drops it here, where it is counted.
  return 'too-big';
}

/**
 * How many tunnel headers an inner packet may already carry before burrow refuses to add one more. The
 * kernel stops nested transmits at its recursion limit (XMIT_RECURSION_LIMIT, 8: "Dead loop on virtual
 * device"); burrow's transmits do not nest (each goes back through the kernel), so without this count
 * two tunnels routed into each other would pass a packet between them for ever, growing, and once
 * fragmented, multiplying (RFC 1326 "Mutual Encapsulation Considered Dangerous").
 */
export const MAX_NESTING = 8;

/**
 * How many IPv4 tunnel headers (protocol 4, 41 or 47) the IPv4 packet at bytes[start, start+length)
 * begins with, counting at most `limit`. A first fragment is walked into (its payload starts with the
 * next header); a later fragment ends the walk, as does anything that is not IPv4 in ipip or gre.
 */
export function tunnelNesting(bytes: Uint8Array, start: number, length: number, limit = MAX_NESTING): number {
  const end = start + length;
  let at = start;
  let depth = 0;
  while (depth < limit) {
    if (end - at < 20 || bytes[at] >> 4 !== 4) return depth;
    const protocol = bytes[at + 9];
    if (protocol !== 4 && protocol !== 41 && protocol !== 47) return depth;
    depth++;
    const ihl = (bytes[at] & 0x0f) << 2;
    if (((bytes[at + 6] & 0x1f) | bytes[at + 7]) !== 0 || ihl < 20) return depth;
    at += ihl;
    if (protocol === 41) return depth;
    if (protocol === 47) {
      if (end - at < 4 || ((bytes[at] << 8) | bytes[at + 1]) & 0x4007) return depth;
      if (((bytes[at + 2] << 8) | bytes[at + 3]) !== 0x0800) return depth;
      at += greHeaderLength((bytes[at] << 8) | bytes[at + 1]);
    }
  }
  return depth;
}

/** Inner fields the outer header is derived from: TTL/hop limit and DS field, or -1 for non-IP. */
export function innerTtl(bytes: Uint8Array, start: number, version: number): number {
  if (version === 4) return ipv4TtlUnchecked(bytes, start);
  if (version === 6) return ipv6HopLimitUnchecked(bytes, start);
  return -1;
}

export function innerDsfield(bytes: Uint8Array, start: number, version: number): number {
  if (version === 4) return ipv4TosUnchecked(bytes, start);
  if (version === 6) return ipv6TrafficClassUnchecked(bytes, start);
  return -1;
}

/** Whether a packet from the device is long enough for its version's header (and is IPv4 or IPv6). */
export function innerVersion(bytes: Uint8Array, start: number, length: number): number {
  if (length < 1) return 0;
  const version = ipVersionUnchecked(bytes, start);
  if (version === 4) return length >= 20 ? 4 : 0;
  if (version === 6) return length >= 40 ? 6 : 0;
  return 0;
}

/**
 * Writes the outer IPv4 header in front of `headerLength` bytes of mode header (already written) and
 * the inner packet, and fills `out`. The ID: with DF the tunnel's next (Tunnel.txId); without DF 0,
 * which the raw socket replaces with the one the kernel's own tunnel would pick (__ip_select_ident).
 */
export function writeOuter(
  t: Tunnel,
  destination: number,
  bytes: Uint8Array,
  innerStart: number,
  innerLength: number,
  headerLength: number,
  protocol: number,
  tos: number,
  ttl: number,
  df: boolean,
  out: EncapResult,
): void {
  const start = innerStart - headerLength - 20;
  const total = innerLength + headerLength + 20;
  let id = 0;
  if (df) {
    id = t.txId;
    t.txId = (id + 1) & 0xffff;
  }
  writeIpv4Header(bytes, start, tos, total, id, df, ttl, protocol, t.params.local, destination);
  out.start = start;
  out.length = total;
  out.destination = destination;
}

/**
 * ipip and gre transmit (ip_tunnel_xmit): outer TTL and TOS inherited or fixed, DF from pmtudisc or the
 * inner IPv4 DF, path MTU checked, then the outer header. The mode has written its header (if any) in
 * the `headerLength` bytes before the inner packet.
 */
export function transmitIp(
  t: Tunnel,
  bytes: Uint8Array,
  start: number,
  length: number,
  version: number,
  headerLength: number,
  protocol: number,
  out: EncapResult,
): DropReason | null {
  const p = t.params;
  // An IPv4 packet already inside MAX_NESTING tunnels is going round a loop of tunnels.
  if (version === 4 && tunnelNesting(bytes, start, length) >= MAX_NESTING) return 'dead-loop';
  const path = p.remote !== 0 ? fixedPath(t) : nextHopPath(t, bytes, start, version);
  // No route through the tunnel (the kernel's missing skb_dst), or an IPv6 neighbour with no IPv4 in it.
  if (path.destination === 0) return version === 4 ? 'nbma-no-destination' : 'nbma-no-ipv4-neighbour';
  const df = outerDf(p.pmtudisc, version === 4, version === 4 && ipv4DfUnchecked(bytes, start));
  const refused = checkTransmit(path, length, version, df, headerLength, out);
  if (refused !== null) return refused;
  const ds = innerDsfield(bytes, start, version);
  const ttl = outerTtl(p.ttl, innerTtl(bytes, start, version));
  writeOuter(t, path.destination, bytes, start, length, headerLength, protocol, outerTos(p.tos, ds), ttl, df, out);
  return null;
}

/**
 * Receive entry for every mode: checks the outer IPv4 header a raw socket delivered (the kernel has
 * validated it already in ip_rcv; this is the single length gate for what follows), then hands the
 * payload, up to the header's total length (a raw socket may deliver trailing bytes), to the mode.
 */
export function decapsulate(
  receive: Receive,
  table: TunnelTable,
  bytes: Uint8Array,
  start: number,
  length: number,
  ifindex: number,
  out: DecapResult,
): DropReason | null {
  out.tunnel = null;
  if (length < 20 || bytes[start] >> 4 !== 4) return 'outer-malformed';
  const ihl = (bytes[start] & 0x0f) << 2;
  const total = (bytes[start + 2] << 8) | bytes[start + 3];
  if (ihl < 20 || ihl > length || total < ihl || total > length) return 'outer-malformed';
  if (internetChecksum(bytes, start, ihl) !== 0) return 'outer-malformed';
  return receive(table, bytes, start, start + ihl, total - ihl, ifindex, out);
}

/**
 * The common tail of ip_tunnel_rcv / ipip6_rcv once a tunnel took the packet: the inner packet must be
 * the IP version the outer protocol or GRE type says and hold its header, then ECN decapsulation per
 * RFC 6040 (outer CE on a Not-ECT inner is dropped; on an ECT inner it marks the inner CE; outer ECT(1)
 * turns an ECT(0) inner into ECT(1)).
 */
export function finishReceive(
  bytes: Uint8Array,
  outerStart: number,
  innerStart: number,
  innerLength: number,
  expectedVersion: 4 | 6,
  out: DecapResult,
): DropReason | null {
  if (innerVersion(bytes, innerStart, innerLength) !== expectedVersion) return 'inner-malformed';
  const action = ecnDecapsulate(ipv4TosUnchecked(bytes, outerStart), innerDsfield(bytes, innerStart, expectedVersion));
  if (action === EcnAction.Drop) return 'ecn-ce-not-ect';
  if (action === EcnAction.SetCe) {
    if (expectedVersion === 4) ipv4SetEcnCeUnchecked(bytes, innerStart);
    else ipv6SetEcnCeUnchecked(bytes, innerStart);
  } else if (action === EcnAction.SetEct1) {
    if (expectedVersion === 4) ipv4SetEct1Unchecked(bytes, innerStart);
    else ipv6SetEct1Unchecked(bytes, innerStart);
  }
  out.start = innerStart;
  out.length = innerLength;
  return null;
}
